#!/usr/bin/env python3
"""zennit counterpart of bench_lrp (issue #6: lrpcu's relevance pass <= 1.2x an eval forward +
backward-data, and >= 5x faster than zennit).

Models (--archs): lrpcu's CIFAR forms of ResNet-18 (torchvision resnet18, 3x3 stem, no max-pool) and
VGG-16-BN (torch_train_bench.py), 10 classes, ReLUs not in place (zennit hooks them), eval mode, random
weights (torch.manual_seed(0)), input randn(batch, 3, 32, 32), target onehot(i % 10).
Cases (one JSON line each; ms = median over --iters after 3 warm-up iterations):
  zennit_attribute_reldrop           zennit Gradient attribution with RelDrop's reference composite
                                     (docs/reldrop.md section 2.2: first conv Flat(1e-6), activations Pass,
                                     AvgPool Norm(1e-6), other convs and Linear Epsilon(1e-3), BN Pass;
                                     BN folded by SequentialMergeBatchNorm only, so the residual add is the
                                     plain gradient as with the reference's timm models)
  zennit_attribute_epsilon_plus_flat zennit EpsilonPlusFlat with canonizers=[ResNetCanonizer()] (ResNet)
                                     or [SequentialMergeBatchNorm()] (VGG, = zennit's VGGCanonizer)
  torch_eval_fwd_bwd_data            eval forward + backward to the input only (no parameter gradients)
  torch_eval_fwd                     eval forward under no_grad
The composite is registered once around the timed loop (`with Gradient(model, composite) as attributor`),
as in zennit's docs; parameters have requires_grad False in every case. CUDA: timed with CUDA events.
--check (batch 2): prints per-sample relevance sums, run-to-run determinism and the Flat stem's
equal-channel property instead of timing.

GPU machine:  PYTHONPATH=.deps/py python3 bench/zennit_lrp_bench.py
CPU (batch 8): PYTHONPATH=.deps/py python3 bench/zennit_lrp_bench.py --device cpu --batch 8 --threads 2
"""
import argparse, json, os, sys, time
from importlib.metadata import version

import torch, torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_train_bench import cifar_resnet18, cifar_vgg16_bn  # noqa: E402  (no side effects on import)

from zennit.attribution import Gradient  # noqa: E402
from zennit.canonizers import SequentialMergeBatchNorm  # noqa: E402
from zennit.composites import EpsilonPlusFlat, SpecialFirstLayerMapComposite  # noqa: E402
from zennit.rules import Epsilon, Flat, Norm, Pass  # noqa: E402
from zennit.torchvision import ResNetCanonizer  # noqa: E402
from zennit.types import Activation, AvgPool, BatchNorm, Convolution, Linear  # noqa: E402


def reldrop_composite(eps=1e-3):
    """RelDrop's `epsilon_zplus` composite (reference: no ZPlus rule despite the name)."""
    layer_map = [
        (Activation, Pass()),
        (AvgPool, Norm(stabilizer=1e-6)),
        (Convolution, Epsilon(epsilon=eps)),
        (nn.Linear, Epsilon(epsilon=eps)),
        (BatchNorm, Pass()),
    ]
    first_map = [(Linear, Flat(stabilizer=1e-6))]
    return SpecialFirstLayerMapComposite(layer_map=layer_map, first_map=first_map,
                                         canonizers=[SequentialMergeBatchNorm()])


COMPOSITES = {
    'zennit_attribute_reldrop': lambda arch: reldrop_composite(),
    'zennit_attribute_epsilon_plus_flat': lambda arch: EpsilonPlusFlat(
        canonizers=[ResNetCanonizer() if arch.startswith('resnet') else SequentialMergeBatchNorm()]),
}
ARCHS = {'resnet18': cifar_resnet18, 'vgg16_bn': cifar_vgg16_bn}
CASES = list(COMPOSITES) + ['torch_eval_fwd_bwd_data', 'torch_eval_fwd']


def setup(arch, dev, batch):
    torch.manual_seed(0)
    model = ARCHS[arch]().to(dev).eval()
    for m in model.modules():
        if isinstance(m, nn.ReLU):
            m.inplace = False
    model.requires_grad_(False)
    x = torch.randn(batch, 3, 32, 32, device=dev)
    onehot = torch.nn.functional.one_hot(torch.arange(batch, device=dev) % 10, 10).float()
    return model, x, onehot


def timed(once, dev, iters):
    cuda = dev.type == 'cuda'
    for _ in range(3):
        once()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(iters):
        if cuda:
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record(); once(); b.record(); b.synchronize()
            times.append(a.elapsed_time(b))
        else:
            t0 = time.perf_counter(); once(); times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    r = {'ms': times[len(times) // 2], 'ms_min': times[0]}
    if cuda:
        r['peak_MiB'] = torch.cuda.max_memory_allocated() / 2**20
    return r


def run_case(arch, case, dev, batch, iters):
    model, x, onehot = setup(arch, dev, batch)
    if case in COMPOSITES:
        with Gradient(model=model, composite=COMPOSITES[case](arch)) as attributor:
            return timed(lambda: attributor(x, onehot), dev, iters)
    if case == 'torch_eval_fwd_bwd_data':
        xg = x.clone().requires_grad_(True)
        dlogits = torch.randn(batch, 10, device=dev) * 1e-3

        def once():
            out = model(xg)
            torch.autograd.grad(out, xg, grad_outputs=dlogits)
        return timed(once, dev, iters)

    def fwd():
        with torch.no_grad():
            model(x)
    return timed(fwd, dev, iters)


def check(archs, dev):
    """Eyeball test on batch 2: relevance sums per sample, determinism, Flat stem's equal channels."""
    for arch, (case, make) in [(a, c) for a in archs for c in COMPOSITES.items()]:
        model, x, onehot = setup(arch, dev, 2)
        with Gradient(model=model, composite=make(arch)) as attributor:
            out, a1 = attributor(x, onehot)
            _, a2 = attributor(x, onehot)
        rmap = a1.sum(1)  # [B, H, W], the map RelDrop uses
        info = {
            'check': case, 'model': arch + '_cifar',
            'logit_at_target': (out * onehot).sum(1).tolist(),
            'relevance_sum': rmap.flatten(1).sum(1).tolist(),
            'relevance_abs_sum': rmap.flatten(1).abs().sum(1).tolist(),
            'finite': bool(torch.isfinite(a1).all()),
            'max_abs_diff_rerun': float((a1 - a2).abs().max()),
            'flat_stem_channels_equal': bool(torch.allclose(a1[:, 0], a1[:, 1]) and torch.allclose(a1[:, 0], a1[:, 2])),
        }
        print(json.dumps(info), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--device', choices=['cuda', 'cpu'], default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--batch', type=int, default=None, help='default 128 on cuda, 8 on cpu')
    ap.add_argument('--iters', type=int, default=None, help='default 20 on cuda, 3 on cpu')
    ap.add_argument('--threads', type=int, default=None, help='torch.set_num_threads (default 2 on cpu)')
    ap.add_argument('--cases', default=','.join(CASES), help='comma-separated subset of: ' + ','.join(CASES))
    ap.add_argument('--archs', default=','.join(ARCHS), help='comma-separated subset of: ' + ','.join(ARCHS))
    ap.add_argument('--check', action='store_true', help='print the correctness eyeball check instead of timing')
    a = ap.parse_args()
    dev = torch.device(a.device)
    cuda = dev.type == 'cuda'
    threads = a.threads if a.threads is not None else (None if cuda else 2)
    if threads:
        torch.set_num_threads(threads)
    archs = a.archs.split(',')
    for arch in archs:
        if arch not in ARCHS:
            sys.exit(f'unknown arch {arch!r}; known: {", ".join(ARCHS)}')
    if a.check:
        check(archs, dev)
        return
    batch = a.batch or (128 if cuda else 8)
    iters = a.iters or (20 if cuda else 3)
    ctx = {'torch': torch.__version__, 'zennit': version('zennit'), 'threads': torch.get_num_threads(),
           'device': torch.cuda.get_device_name(dev) if cuda else 'cpu'}
    if cuda:
        # fp32 as lrpcu's bench_lrp runs it (TF32 off there; relevance spans many orders of magnitude): PyTorch's
        # default TF32 convolutions would compare another precision
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        ctx.update(cudnn=torch.backends.cudnn.version(), tf32_conv=torch.backends.cudnn.allow_tf32,
                   tf32_matmul=torch.backends.cuda.matmul.allow_tf32)
    cases = a.cases.split(',')
    for case in cases:
        if case not in CASES:
            sys.exit(f'unknown case {case!r}; known: {", ".join(CASES)}')
    for arch in archs:
        for case in cases:
            r = run_case(arch, case, dev, batch, iters)
            print(json.dumps({'bench': case, 'model': arch + '_cifar', 'batch': batch, 'iters': iters, **r,
                              'images_per_s': batch / r['ms'] * 1e3, **ctx}), flush=True)


if __name__ == '__main__':
    main()
