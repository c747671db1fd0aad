#!/usr/bin/env python3
"""Turns the files a GPU-suite run brought back (scripts/device/gpu-suite.sh writes them to $OUT) into a
Markdown record for bench/results/: environment, test and sanitizer verdicts, and every issue target
computed from the figures that were measured (none is invented: a missing file gives a missing row).

Usage: python3 scripts/device/summarize.py OUT_DIR [> bench/results/<date>-h200-gpu-suite.md]
Targets: #3 lrpcu train step >= PyTorch eager (same GPU, same run); #5 RelDrop step <= 1.8x the baseline
step; #6 relevance pass <= 1.2x eval fwd + bwd-data and >= 5x faster than zennit; #4 >= 94.5 % test
accuracy on Fashion-MNIST (main job)."""
import json, os, re, sys


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def load_jsonl(path):
    rows = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith('{'):
                    try:
                        rows.append(json.loads(line))
                    except ValueError:
                        pass
    except OSError:
        pass
    return rows


def read(path):
    try:
        with open(path, errors='replace') as f:
            return f.read()
    except OSError:
        return ''


NAME = re.compile(r'^BM_(?P<what>[a-z0-9_]+?)_(?P<dev>cuda|cpu)(?P<nondet>_nondet)?/(?P<rest>.*)$')


def gbench(path):
    """{(what, dev, nondet, case): ms} from a Google Benchmark JSON file (real_time, manual time)."""
    d = load_json(path)
    out = {}
    if not d:
        return out
    for b in d.get('benchmarks', []):
        if b.get('run_type') == 'aggregate' or 'error_occurred' in b:
            continue
        m = NAME.match(b['name'])
        if not m:
            continue
        unit = {'ns': 1e-6, 'us': 1e-3, 'ms': 1.0, 's': 1e3}[b.get('time_unit', 'ms')]
        case = m.group('rest').split('/')[0]
        out[(m.group('what'), m.group('dev'), bool(m.group('nondet')), case)] = (b['real_time'] * unit, b)
    return out


def ratio(a, b):
    return f'{a / b:.2f}x' if a and b else 'n/a'


def verdict(ok):
    return 'met' if ok else '**not met**'


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    d = sys.argv[1]
    p = lambda name: os.path.join(d, name)
    lines = ['# GPU suite record', '', 'Summarised by `scripts/device/summarize.py` from the files the run wrote; '
             'every figure below was measured in that run.', '', '## Environment', '', '```', read(p('env.txt')).strip(),
             '```', '']

    # Steps gpu-suite.sh cut at its SUITE_DEADLINE (their figures are missing or partial below).
    cut = []
    for name in sorted(os.listdir(d)):
        if name.endswith(('.log', '.txt', '.jsonl')):
            cut += [l.split(': ', 1)[-1] for l in read(p(name)).splitlines() if l.startswith('TIMED OUT (')]
    if cut:
        lines += ['## Steps cut short by the suite deadline or the tests budget', ''] + [f'- `{c}`' for c in cut] + ['']

    tests = read(p('tests.log'))
    m = re.search(r'(\d+)% tests passed, (\d+) tests failed out of (\d+)', tests)
    lines += ['## Tests (`LRP_REQUIRE_CUDA=1 ctest`)', '']
    if m:
        lines.append(f'{m.group(3)} tests, {m.group(2)} failed.')
        # every outcome ctest names (Failed, Timeout, SEGFAULT, Not Run, ILLEGAL, OTHER_FAULT, Child aborted, ...)
        failed = re.findall(r'^\s+\d+ - (\S+) \(([^)]+)\)\s*$', tests, re.M)
        for name, why in failed:
            if why not in ('Skipped', 'Disabled'):  # ctest's list of tests that did not run
                lines.append(f'- {name} ({why})')
    else:
        lines.append('no test summary in tests.log (the run did not finish the tests)')
    for tool in ('memcheck', 'initcheck', 'racecheck'):
        log = read(p(f'sanitize-{tool}.log'))
        if log:
            s = re.findall(r'ERROR SUMMARY: (\d+) error', log)
            lines.append(f'- compute-sanitizer {tool}: {s[-1] if s else "no summary"} errors')
    lines.append('')

    # #3: training step against PyTorch
    models = gbench(p('bench_models.json'))
    tf32 = gbench(p('bench_models_tf32.json'))
    torch_rows = {(r['model'], r['phase'], r['batch']): r for r in load_jsonl(p('torch_train_bench.jsonl')) if 'phase' in r}
    if models or torch_rows:
        lines += ['## #3: lrpcu vs PyTorch eager (ms per batch; PyTorch with its TF32 defaults)', '',
                  '| model | phase | batch | lrpcu fp32 | lrpcu TF32 + any cuDNN algo | PyTorch | PyTorch / lrpcu (best) |',
                  '|---|---|---|---|---|---|---|']
        for (model, phase, batch), r in sorted(torch_rows.items()):
            case = f'batch:{batch}'
            a = models.get((f'{model}_{phase}', 'cuda', False, case), (None,))[0]
            b = tf32.get((f'{model}_{phase}', 'cuda', False, case), (None,))[0]
            best = min(x for x in (a, b) if x) if (a or b) else None
            f = lambda x: f'{x:.2f}' if x else 'n/a'
            lines.append(f'| {model} | {phase} | {batch} | {f(a)} | {f(b)} | {r["ms"]:.2f} | {ratio(r["ms"], best)} |')
        lines += ['', 'Target: PyTorch / lrpcu >= 1.00 for train_step.', '']

    # #5: RelDrop step against the baseline step
    rd = gbench(p('bench_reldrop.json'))
    base = rd.get(('resnet18_baseline_step', 'cuda', False, 'batch:128'), (None,))[0]
    if base:
        lines += ['## #5: RelDrop step vs baseline step (ResNet-18, batch 128)', '',
                  f'baseline step: {base:.2f} ms', '', '| step | ms | ratio | target <= 1.8x |', '|---|---|---|---|']
        for (what, dev, nd, case), (ms, _) in sorted(rd.items()):
            if dev == 'cuda' and what != 'resnet18_baseline_step' and case == 'batch:128':
                target = verdict(ms / base <= 1.8) if 'reldrop' in what else ('no target (EDDA: 3x the rows)' if 'edda' in what else 'no target')
                lines.append(f'| {what} | {ms:.2f} | {ratio(ms, base)} | {target} |')
        lines.append('')

    # #6: relevance pass against fwd + bwd-data and against zennit
    lrp = gbench(p('bench_lrp.json'))
    # zennit's rows of the same batch only (a CPU or other-batch run would compare unlike figures)
    zen = {(r['bench'], r['model']): r for r in load_jsonl(p('zennit_lrp_bench.jsonl'))
           if 'bench' in r and r.get('batch') == 128}
    if lrp:
        lines += ['## #6: relevance pass (batch 128, fp32: TF32 off on both sides)', '',
                  '| model | composite | lrpcu ms | / eval fwd+bwd-data (<= 1.2x) | zennit ms | zennit / lrpcu (>= 5x) |',
                  '|---|---|---|---|---|---|']
        for model in ('resnet18', 'vgg16_bn'):
            ref = lrp.get((f'{model}_eval_fwd_bwd_data', 'cuda', False, 'batch:128'), (None,))[0]
            for comp in ('reldrop', 'epsilon_plus_flat'):
                ms = lrp.get((f'{model}_attribute_{comp}', 'cuda', False, 'batch:128'), (None,))[0]
                if not ms:
                    continue
                z = zen.get((f'zennit_attribute_{comp}', f'{model}_cifar'))
                zms = z['ms'] if z else None
                r1 = f'{ratio(ms, ref)} ({verdict(ref and ms / ref <= 1.2)})' if ref else 'n/a'
                r2 = f'{ratio(zms, ms)} ({verdict(zms / ms >= 5)})' if zms else 'n/a'
                lines.append(f'| {model} | {comp} | {ms:.2f} | {r1} | {f"{zms:.2f}" if zms else "n/a"} | {r2} |')
        lines.append('')

    # conv and GEMM throughput, deterministic vs any algorithm
    gc = gbench(p('bench_gemm_conv.json'))
    if gc:
        lines += ['## Conv2d and GEMM (CUDA)', '', '| op | shape | ms | TFLOP/s | ms, any cuDNN algorithm |',
                  '|---|---|---|---|---|']
        for (what, dev, nd, case), (ms, b) in sorted(gc.items()):
            if dev != 'cuda' or nd:
                continue
            other = gc.get((what, dev, True, case), (None,))[0]
            tf = b.get('FLOP/s', 0) / 1e12
            lines.append(f'| {what} | {case} | {ms:.3f} | {tf:.1f} | {f"{other:.3f}" if other else ""} |')
        lines.append('')

    # where the device time goes (gpu-suite's profile job: LRP_OP_PROFILE tables)
    profiles = sorted(f for f in os.listdir(d) if f.startswith('op-profile-') and f.endswith('.txt'))
    if profiles:
        lines += ['## Op profiles (LRP_OP_PROFILE; warm-up included; the ten largest CUDA rows)', '']
        for f in profiles:
            table = read(p(f)).splitlines()[1:]  # the column header, then rows by total, largest first
            rows = [l for l in table[1:] if l.startswith('cuda')]
            lines += [f'`{f[len("op-profile-"):-len(".txt")]}`:', '', '```'] + table[:1] + rows[:10] + ['```', '']

    # #4: the main job
    ev = load_json(p('main-job/eval.json'))
    rows = load_jsonl(p('main-job/metrics.jsonl'))
    if ev or rows:
        lines += ['## #4: main job (ResNet-18, Fashion-MNIST, `scripts/main-job.sh`)', '']
        if rows:
            last = rows[-1]
            best = max(r['test_acc'] for r in rows)
            secs = sum(r.get('train_seconds', 0) for r in rows)
            lines.append(f'{len(rows)} epochs, training time {secs:.0f} s, last epoch {last["images_per_s"]:.0f} '
                         f'images/s; final test accuracy {100 * last["test_acc"]:.2f} %, best {100 * best:.2f} %.')
        if ev:
            lines.append(f'lrpcu eval: top-1 {100 * ev["top1"]:.2f} % ({verdict(ev["top1"] >= 0.945)} for >= 94.5 %), '
                         f'top-5 {100 * ev["top5"]:.2f} %, {ev["samples"]} images.')
        lines.append('')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
