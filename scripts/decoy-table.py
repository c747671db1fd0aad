#!/usr/bin/env python3
"""Markdown rows of the decoy benchmark (docs/isnet.md) from a runs folder: for each row name, its runs <row>-sS and
the evals next to them (<row>-sS.eval-random.json, .eval-none.json: `lrpcu eval --decoy random|none --json`;
.eval-label.json: `--decoy label --background --json`), mean +- sample std over seeds of the test accuracy with
random swatches, the label's swatches and none, the shortcut gain (label's minus random, per seed), and the
background shares of the label's-swatch eval (LRP-Flex epsilon and z^B maps, the composite's, each hidden layer's).
With --paired A B: the per-seed difference of B minus A in accuracy with random swatches, over the seeds both have.
A run folder without its three evals is reported and left out. Standard library only.
usage: decoy-table.py DIR ROW [ROW ...] [--paired A B]"""
import json
import os
import re
import statistics
import sys


def fmt(values, scale=100.0, digits=1, signed=False):
    if not values:
        return "n/a"
    m = statistics.mean(values) * scale
    sign = "+" if signed else ""
    if len(values) == 1:
        return f"{m:{sign}.{digits}f}"
    return f"{m:{sign}.{digits}f} ± {statistics.stdev(values) * scale:.{digits}f}"


def load(path):
    with open(path) as f:
        return json.load(f)


def seeds_of(root, row):
    """{seed: {"random", "label", "none", "background"}} for the runs of `row` whose evals are all there."""
    out = {}
    for name in sorted(os.listdir(root)):
        m = re.fullmatch(re.escape(row) + r"-s(\d+)", name)
        if not m or not os.path.isdir(os.path.join(root, name)):
            continue
        evals = {d: os.path.join(root, f"{name}.eval-{d}.json") for d in ("random", "none", "label")}
        missing = [p for p in evals.values() if not os.path.exists(p)]
        if missing:
            print(f"note: {name} left out: no {', '.join(os.path.basename(p) for p in missing)}", file=sys.stderr)
            continue
        e = {}
        for d, p in evals.items():
            try:
                e[d] = load(p)
                float(e[d]["top1"])
            except (OSError, ValueError, KeyError, TypeError) as err:
                sys.exit(f"{p}: not an `lrpcu eval --json` record with top1 ({type(err).__name__}: {err})")
        out[int(m.group(1))] = {"random": e["random"]["top1"], "none": e["none"]["top1"], "label": e["label"]["top1"],
                                "background": e["label"].get("background", {})}
    return out


def share(values, seeds):
    """Mean share in %, with the number of seeds it averages when some runs lack it (an older eval)."""
    vals = [v for v in values if v is not None]
    if not vals:
        return "n/a"
    return fmt(vals, 100.0, 2) + " %" + (f" ({len(vals)} of {seeds} seeds)" if len(vals) < seeds else "")


def row_line(row, runs):
    s = sorted(runs)
    acc = {k: [runs[i][k] for i in s] for k in ("random", "label", "none")}
    gain = [runs[i]["label"] - runs[i]["random"] for i in s]
    bg = [runs[i]["background"] for i in s]
    hidden = {}
    for b in bg:
        for h in b.get("share_background_hidden", []):
            hidden.setdefault(h["layer"], []).append(h["share"])
    hid = ", ".join(f"{name} {share(v, len(s))}" for name, v in hidden.items()) or "n/a"
    return (f"| {row} | {', '.join(map(str, s))} | {fmt(acc['random'])} % | {fmt(acc['label'])} % | {fmt(acc['none'])} % "
            f"| {fmt(gain, signed=True)} points | {share([b.get('share_background_flex') for b in bg], len(s))} "
            f"| {share([b.get('share_background_flex_zb') for b in bg], len(s))} "
            f"| {share([b.get('share_background_composite') for b in bg], len(s))} | {hid} |")


def main(argv):
    paired = None
    if "--paired" in argv:
        i = argv.index("--paired")
        if len(argv) < i + 3:
            sys.exit("--paired takes two row names")
        paired = (argv[i + 1], argv[i + 2])
        argv = argv[:i] + argv[i + 3:]
    if len(argv) < 2:
        sys.exit(__doc__)
    root, rows = argv[0], argv[1:]
    if not os.path.isdir(root):
        sys.exit(f"{root}: no such folder")
    print("| row | seeds | random swatches | label's swatches | no swatch | shortcut gain | background share, "
          "LRP-Flex map | z^B map | composite's map | hidden layers |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    found = {}
    for row in rows:
        found[row] = seeds_of(root, row)
        if not found[row]:
            print(f"note: no evaluated runs of '{row}' in {root}", file=sys.stderr)
            continue
        print(row_line(row, found[row]))
    if paired:
        a = found[paired[0]] if paired[0] in found else seeds_of(root, paired[0])
        b = found[paired[1]] if paired[1] in found else seeds_of(root, paired[1])
        common = sorted(set(a) & set(b))
        if not common:
            sys.exit(f"--paired: '{paired[0]}' and '{paired[1]}' have no evaluated seed in common")
        d = [b[s]["random"] - a[s]["random"] for s in common]
        per = ", ".join(f"{x * 100:+.1f}" for x in d)
        print(f"\n{paired[1]} minus {paired[0]}, random swatches, seeds {', '.join(map(str, common))}: "
              f"{fmt(d, signed=True)} points ({per})")


if __name__ == "__main__":
    main(sys.argv[1:])
