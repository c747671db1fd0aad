#!/usr/bin/env python3
"""Markdown table of a scripts/reldrop-results.sh directory: per --augment, final and best test accuracy
(and, for runs with --val-split, the test accuracy at the best validation epoch), the occlusion AUCs
(most-relevant-first and random order), EDDA's faithfulness proxy where eval measured it, and training speed,
mean +- sample std over seeds. Also writes <dir>/results.json. Standard library only.
usage: reldrop-table.py DIR PROTOCOL "TRAIN FLAGS" """
import json
import os
import re
import statistics
import sys


def load_json(path, lines=False):
    """A JSON file (or JSON lines); exits naming the file where it is damaged (an eval that was stopped)."""
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()] if lines else json.load(f)
    except ValueError as e:
        sys.exit(f"reldrop-table: {path}: not valid JSON ({e}); rerun what writes it "
                 "(scripts/reldrop-results.sh --phase train or eval)")


# Settings shown in a row's flags when a run's config differs (the reference's values).
RELDROP_DEFAULTS = {"reldrop-composite": "reldrop", "reldrop-fill": "reference", "reldrop-target": "label",
                    "reldrop-pixel-norm": "signed_minmax", "reldrop-box-clip": "truncate",
                    "reldrop-patch-count": "1", "reldrop-with-erasing": False, "reldrop-lrp-samples": "all",
                    "reldrop-bn-fold": "zennit_0_5_1"}
EDDA_DEFAULTS = {"edda-patch": 0, "edda-reduce": "sum", "edda-composite": "reldrop", "edda-epsilon": 0,
                 "edda-target": "label", "edda-salient-target": "uniform", "edda-w-clean": 1, "edda-w-salient": 1,
                 "edda-w-nonsalient": 1, "edda-fill": "mean"}


def fmt(values, scale=1.0, digits=2, of=None):
    """Mean ± sample std; with `of` (the row's seeds), says how many seeds it averages when some runs lack the
    figure (a run without its eval)."""
    if not values:
        return "n/a"
    m = statistics.mean(values) * scale
    part = f" ({len(values)} of {of} seeds)" if of is not None and len(values) < of else ""
    if len(values) == 1:
        return f"{m:.{digits}f}{part}"
    return f"{m:.{digits}f} ± {statistics.stdev(values) * scale:.{digits}f}{part}"


def main():
    root, protocol, flags = sys.argv[1], sys.argv[2], sys.argv[3]
    runs = {}
    for name in sorted(os.listdir(root)):
        m = re.fullmatch(r"(.+)-s(\d+)", name)
        d = os.path.join(root, name)
        if not m or not os.path.isdir(d) or not os.path.exists(os.path.join(d, "metrics.jsonl")):
            continue
        rows = load_json(os.path.join(d, "metrics.jsonl"), lines=True)
        if not rows:
            print(f"reldrop-table: warning: {d}: no epoch recorded yet; left out", file=sys.stderr)
            continue
        r = {"seed": int(m.group(2)), "epochs": rows[-1]["epoch"], "final_acc": rows[-1]["test_acc"],
             "best_acc": max(x["test_acc"] for x in rows),
             "images_per_s": statistics.mean(x["images_per_s"] for x in rows)}
        if all("val_acc" in x for x in rows):  # model selection on the held-out split (first best epoch)
            best = max(range(len(rows)), key=lambda i: (rows[i]["val_acc"], -i))
            r["val_best_epoch"], r["test_at_best_val"] = rows[best]["epoch"], rows[best]["test_acc"]
        if "reldrop_occluded_fraction" in rows[-1]:
            r["occluded_fraction"] = statistics.mean(x["reldrop_occluded_fraction"] for x in rows)
        occ = os.path.join(d, "occlusion.json")
        if os.path.exists(occ):
            o = load_json(occ)
            o = o.get("occlusion", o)  # lrpcu eval writes the occlusion object inside the eval record
            r["auc_morf"], r["auc_random"] = o["auc_morf"], o["auc_random"]
            r["occlusion"] = {k: o[k] for k in ("patch", "steps", "composite", "target", "fill", "samples") if k in o}
        ev = os.path.join(d, "eval.json")
        if os.path.exists(ev):
            fa = load_json(ev).get("faithfulness")
            if fa:  # lrpcu eval --faithfulness (EDDA's proxy)
                r["drop_salient"], r["drop_nonsalient"] = fa["mean_drop_salient"], fa["mean_abs_drop_nonsalient"]
                if "mean_drop_random" in fa:
                    r["drop_random"] = fa["mean_drop_random"]
                r["faithfulness"] = {k: fa[k] for k in ("composite", "patch", "reduce", "fill", "samples") if k in fa}
        cfg = load_json(os.path.join(d, "config.json"))
        r["flags"] = f"--augment {cfg['augment']}"
        defaults = RELDROP_DEFAULTS if cfg["augment"].startswith("reldrop-") else (
            EDDA_DEFAULTS if cfg["augment"] == "edda" else {})
        if defaults:  # RelDrop / EDDA settings other than the defaults
            for key, default in defaults.items():
                if key in cfg and cfg[key] != default:
                    value = str(cfg[key]).lower() if isinstance(cfg[key], bool) else cfg[key]
                    r["flags"] += f" --{key} {value}"
        runs.setdefault(m.group(1), []).append(r)
    order = ["none", "random-erasing", "reldrop-block", "reldrop-patch", "reldrop-pixel"]  # then extras, by name
    names = sorted(runs, key=lambda a: order.index(a) if a in order else 99)
    with open(os.path.join(root, "results.json"), "w") as f:
        json.dump({"protocol": protocol, "train_flags": flags, "runs": runs}, f, indent=2)
    print(f"Fashion-MNIST, ResNet-18, protocol `{protocol}`: `lrpcu train --dataset fashion-mnist --arch resnet18 "
          f"<flags> --seed <seed> {flags}`\n")
    val = any("test_at_best_val" in r for rs in runs.values() for r in rs)
    faith = any("drop_salient" in r for rs in runs.values() for r in rs)
    print("| run: flags | seeds | final test acc (%) | best test acc (%) | "
          + ("test acc at best val epoch (%) | " if val else "")
          + "occlusion AUC, most relevant first | occlusion AUC, random order | gap (random − MoRF) "
          + ("| label prob. lost, most relevant window filled | |change|, least relevant window filled "
             "| label prob. lost, random window filled " if faith else "")
          + "| images occluded | train img/s (not a benchmark) |")
    print("|---" * (9 + val + 3 * faith) + "|")
    for a in names:
        rs = runs[a]
        morf = [r["auc_morf"] for r in rs if "auc_morf" in r]
        rnd = [r["auc_random"] for r in rs if "auc_random" in r]
        gap = [r["auc_random"] - r["auc_morf"] for r in rs if "auc_morf" in r]
        occl = [r["occluded_fraction"] for r in rs if "occluded_fraction" in r]
        at_val = [r["test_at_best_val"] for r in rs if "test_at_best_val" in r]
        n = len(rs)
        val_cell = f"| {fmt(at_val, 100, of=n)} " if val else ""
        sal = [r["drop_salient"] for r in rs if "drop_salient" in r]
        non = [r["drop_nonsalient"] for r in rs if "drop_nonsalient" in r]
        rnd_win = [r["drop_random"] for r in rs if "drop_random" in r]
        faith_cells = f"| {fmt(sal, 1, 3, n)} | {fmt(non, 1, 3, n)} | {fmt(rnd_win, 1, 3, n)} " if faith else ""
        print(f"| {a}: `{rs[0]['flags']}` | {len(rs)} | {fmt([r['final_acc'] for r in rs], 100)} "
              f"| {fmt([r['best_acc'] for r in rs], 100)} {val_cell}"
              f"| {fmt(morf, 1, 3, n)} | {fmt(rnd, 1, 3, n)} | {fmt(gap, 1, 3, n)} {faith_cells}"
              f"| {fmt(occl, 100, 0) + ' %' + (f' ({len(occl)} of {n} seeds)' if len(occl) < n else '') if occl else '—'} "
              f"| {fmt([r['images_per_s'] for r in rs], 1, 0)} |")
    occ = next((r["occlusion"] for rs in runs.values() for r in rs if "occlusion" in r), None)
    if occ:
        print(f"\nOcclusion: {json.dumps(occ)} (AUC = trapezoid of accuracy over the occluded fraction in [0, 1]).")
    fa = next((r["faithfulness"] for rs in runs.values() for r in rs if "faithfulness" in r), None)
    if fa:
        print(f"\nFaithfulness proxy (lrpcu eval --faithfulness, lrpcu's proxy, not EDDA's metric): {json.dumps(fa)}; "
              "mean over test images of p_label(clean) - p_label(most relevant window filled), of "
              "|p_label(clean) - p_label(least relevant window filled)|, and of p_label(clean) - p_label(a random "
              "window filled), the control.")


if __name__ == "__main__":
    main()
