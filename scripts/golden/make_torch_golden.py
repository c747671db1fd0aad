#!/usr/bin/env python3
# PyTorch golden files for tests/test_torch_parity.cpp (tests/data/torch/<case>.safetensors), and a
# --check-lrpcu mode that loads a state dict written by lrpcu into the matching PyTorch model.
"""PyTorch parity goldens for lrpcu: small CIFAR-form ResNet-18, ResNet-50 and VGG-11-BN.

Setup (Debian's python3-torch 1.13 runs under the SYSTEM interpreter; safetensors goes into the
git-ignored .deps folder):

    /usr/bin/python3 -m pip install --target /work/main/.deps/py safetensors

Write the goldens (deterministic; each file holds its settings in __metadata__):

    PYTHONPATH=.deps/py /usr/bin/python3 scripts/golden/make_torch_golden.py [--out tests/data/torch]

Per case the file holds: input (N x C x H x W fp32), labels (int32), init.<key> (the whole initial
state_dict, num_batches_tracked included), train.logits / train.loss (train mode, mean
cross-entropy), grad.<param> (every parameter gradient after that backward), train_stats.<bn buffer>
(running stats after that forward), then, starting again from init: step_losses (3 optimizer steps
on the same batch), after.<key> (the state_dict after them), eval.logits_after (eval mode after the
steps) and eval.logits (eval mode with the initial state). Every case is also run in float64: the
float32 results must meet the C++ test's tolerances against it at half of them, and the training
forwards must keep away from the points where the gradient jumps (Margins). Otherwise nothing is
written (the seeds in CASES pass; after a change that breaks one, try the next seeds). Reruns give
the same tensors; the safetensors library may order the __metadata__ entries differently.

Check that PyTorch loads a file lrpcu wrote (load_state_dict(strict=True), then a forward):

    # prints PATH; LRP_KEEP_TEST_FILES=1 keeps the file (a passing test removes what it wrote)
    LRP_KEEP_TEST_FILES=1 ./build/tests/lrp_tests --gtest_filter='TorchParityCpu.WrittenStateDictRoundTrips'
    PYTHONPATH=.deps/py /usr/bin/python3 scripts/golden/make_torch_golden.py --check-lrpcu PATH \\
        [--golden tests/data/torch/resnet18_adamw_ls.safetensors]
    # or a trained model:  build/lrpcu train --dataset synthetic --arch resnet18 --width 4 ... --out /tmp/rt
    PYTHONPATH=.deps/py /usr/bin/python3 scripts/golden/make_torch_golden.py --check-lrpcu /tmp/rt/model.safetensors

The architecture comes from the file's "arch" metadata (or --arch); widths, input channels and
classes from the tensor shapes; the image size from "image_size" metadata (or --image-size, default
32; only VGG's CIFAR form depends on it). With --golden, the loaded tensors must equal the golden's
after.* state and the forward on the golden input must reproduce eval.logits_after.
"""
import argparse
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.resnet import BasicBlock, Bottleneck

STEPS = 3
CASES = [
    # ResNet-18 (BasicBlock) with AdamW and label smoothing. (AdamW turns a gradient that is rounding
    # noise into a +-lr step; ResNet-18 has none, as its 3x3 zero-padded convs break the shift
    # invariance that makes such gradients vanish in exact arithmetic.)
    dict(name="resnet18_adamw_ls", arch="resnet18", base_width=2, image_size=16, seed=1806,
         label_smoothing=0.1,
         optimizer=dict(kind="adamw", lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2)),
    # ResNet-50 (Bottleneck) with Nesterov SGD. Its bn3.bias of a stage's last block feeds only 1x1
    # conv + BN and the sum's ReLU: where that ReLU passes everything, the gradient is exactly zero.
    dict(name="resnet50_sgd_nesterov", arch="resnet50", base_width=2, image_size=16, seed=5007,
         label_smoothing=0.0,
         optimizer=dict(kind="sgd", lr=0.05, momentum=0.9, dampening=0.0, nesterov=True, weight_decay=5e-4)),
    # VGG-11-BN (conv bias + BN; the fifth pool is left out at 16x16) with plain momentum SGD; batch 8,
    # as BN over 4 values at 1x1 makes 3 steps 10x more sensitive to rounding.
    dict(name="vgg11_bn_sgd", arch="vgg11_bn", base_width=2, image_size=16, batch=8, seed=1101,
         label_smoothing=0.0,
         optimizer=dict(kind="sgd", lr=0.05, momentum=0.9, dampening=0.0, nesterov=False, weight_decay=5e-4)),
    # ImageNet-form ResNet-18: 7x7 stride-2 stem and overlapping 3x3 stride-2 max-pool (a maximum shared by
    # two windows receives both gradients), at 30x30 so that the stem and the stages' stride-2 convs
    # leave a last input row and column out of every window's last tap. Batch 8: layer4's BN sees 1x1 maps.
    dict(name="resnet18_imagenet_sgd", arch="resnet18_imagenet", base_width=2, image_size=30, batch=8, seed=1807,
         label_smoothing=0.0,
         optimizer=dict(kind="sgd", lr=0.05, momentum=0.9, dampening=0.0, nesterov=False, weight_decay=5e-4)),
]
COMMON = dict(in_channels=3, num_classes=10, batch=4)

# The C++ test's tolerances (|got - ref| <= atol + rtol |ref|): keep in step with test_torch_parity.cpp.
# A gradient tensor's atol is GRAD_SCALE[arch] * max|ref| (errors follow the tensor's scale); a
# gradient that is zero in exact arithmetic (|fp64| < 1e-10) must stay below ZERO_GRAD on both sides.
TOL = {"logits": (1e-5, 1e-4), "loss": (1e-6, 1e-5), "step_losses": (1e-5, 1e-5), "stats": (1e-5, 1e-4),
       "after": (1e-5, 1e-4), "eval": (1e-5, 1e-4), "eval_after": (1e-4, 1e-4)}
GRAD_SCALE, GRAD_RTOL, ZERO_GRAD = {"resnet50": 2e-4, "vgg11_bn": 5e-5, "resnet18_imagenet": 5e-5}, 1e-4, 1e-5
GRAD_SCALE_DEFAULT = 2e-5
# torch fp32 must meet the tolerances against fp64 at this share: lrpcu's own rounding gets the rest.
MAX_SHARE = 0.5
# A gradient jumps where a ReLU input or a max-pool tie crosses over: every training forward must keep
# them this far away (lrpcu's activations differ from torch's by up to ~4e-6 after two steps; one
# crossing changed a ResNet-50 BN gradient by 9%). AdamW's first step is ~lr * sign(g): a nonzero
# gradient must be this share of its tensor's largest, or rounding may flip its sign.
RELU_MARGIN = 2e-5
ADAM_GRAD_MARGIN = 1e-6


# ----------------------------------------------------------------------------------- models
class ResNet(nn.Module):
    """lrpcu's ResNet (nn/src/models.cpp): torchvision's blocks and names, every stage width scaled by
    base_width (planes = base_width << stage); CIFAR form: 3x3 s1 p1 stem without bias, no max-pool."""

    def __init__(self, depth, base_width, in_channels, num_classes, imagenet=False):
        super().__init__()
        block = Bottleneck if depth == 50 else BasicBlock
        blocks = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3]}[depth]
        w = base_width
        if imagenet:
            self.conv1 = nn.Conv2d(in_channels, w, 7, 2, 3, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_channels, w, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1) if imagenet else nn.Identity()
        inplanes = w
        for stage in range(4):
            planes = w << stage
            layers = []
            for b in range(blocks[stage]):
                stride = 2 if stage > 0 and b == 0 else 1
                down = None
                if stride != 1 or inplanes != planes * block.expansion:
                    down = nn.Sequential(nn.Conv2d(inplanes, planes * block.expansion, 1, stride, bias=False),
                                         nn.BatchNorm2d(planes * block.expansion))
                layers.append(block(inplanes, planes, stride, down))
                inplanes = planes * block.expansion
            setattr(self, f"layer{stage + 1}", nn.Sequential(*layers))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(inplanes, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


VGG_CFG = {11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
           13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
           16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
           19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
                512, 512, 512, 512, "M"]}


class VGG(nn.Module):
    """lrpcu's VGG: features (conv3x3 with bias, [BN], ReLU; MaxPool 2x2), channels v * base_width / 64.
    CIFAR form: pools that would shrink below 1x1 left out, flatten, one Linear `classifier`.
    ImageNet form: torchvision's (AdaptiveAvgPool 7x7 and the three-Linear classifier, hidden 4096 scaled)."""

    def __init__(self, depth, bn, base_width, in_channels, num_classes, image_size, imagenet=False):
        super().__init__()
        layers, c_in, size = [], in_channels, image_size
        for v in VGG_CFG[depth]:
            if v == "M":
                if imagenet or size >= 2:
                    layers.append(nn.MaxPool2d(2, 2))
                    size //= 2
                continue
            c = max(1, v * base_width // 64)
            layers.append(nn.Conv2d(c_in, c, 3, 1, 1, bias=True))
            if bn:
                layers.append(nn.BatchNorm2d(c))
            layers.append(nn.ReLU(inplace=True))
            c_in = c
        self.features = nn.Sequential(*layers)
        self.imagenet = imagenet
        if imagenet:
            hidden = max(1, 4096 * base_width // 64)
            self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
            self.classifier = nn.Sequential(nn.Linear(c_in * 49, hidden), nn.ReLU(True), nn.Dropout(0.5),
                                            nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(0.5),
                                            nn.Linear(hidden, num_classes))
        else:
            self.classifier = nn.Linear(c_in * size * size, num_classes)

    def forward(self, x):
        x = self.features(x)
        if self.imagenet:
            x = self.avgpool(x)
        return self.classifier(torch.flatten(x, 1))


def build(arch, base_width, in_channels, num_classes, image_size):
    a = arch
    imagenet = a.endswith("_imagenet")
    a = a[: -len("_imagenet")] if imagenet else a
    if imagenet and base_width == 64 and in_channels == 3:  # torchvision's own classes
        return getattr(torchvision.models, a)(num_classes=num_classes)
    bn = a.endswith("_bn")
    a = a[: -len("_bn")] if bn else a
    if a.startswith("resnet"):
        return ResNet(int(a[6:]), base_width, in_channels, num_classes, imagenet)
    if a.startswith("vgg"):
        return VGG(int(a[3:]), bn, base_width, in_channels, num_classes, image_size, imagenet)
    raise SystemExit(f"unknown arch {arch!r}")


# ------------------------------------------------------------------------------- the goldens
@torch.no_grad()
def randomise(model, gen):
    """Deterministic weights; BN affine and running statistics away from 1/0 so that they matter."""
    def randn(t, std):
        return torch.randn(t.shape, generator=gen, dtype=torch.float64).to(t.dtype) * std

    def unif(t, lo, hi):
        return (lo + (hi - lo) * torch.rand(t.shape, generator=gen, dtype=torch.float64)).to(t.dtype)

    # The last BN of each residual branch gets a small scale (zero_init_residual's direction): without
    # it the gradient grows ~40x through ResNet-50's 16 narrow blocks and the fp32 reference itself
    # loses 1e-4 of the gradients' scale.
    last_bn = {id(b.bn3 if isinstance(b, Bottleneck) else b.bn2) for b in model.modules()
               if isinstance(b, (BasicBlock, Bottleneck))}
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            fan_in = m.weight[0].numel()
            gain = 2.0 if isinstance(m, nn.Conv2d) else 1.0
            m.weight.copy_(randn(m.weight, math.sqrt(gain / fan_in)))
            if m.bias is not None:
                m.bias.copy_(randn(m.bias, 0.1))
        elif isinstance(m, nn.BatchNorm2d):
            m.weight.copy_(unif(m.weight, 0.1, 0.5) if id(m) in last_bn else unif(m.weight, 0.5, 1.5))
            m.bias.copy_(randn(m.bias, 0.2))
            m.running_mean.copy_(randn(m.running_mean, 0.2))
            m.running_var.copy_(unif(m.running_var, 0.5, 2.0))
            m.num_batches_tracked.fill_(5)


def make_optimizer(params, o):
    if o["kind"] == "sgd":
        return torch.optim.SGD(params, lr=o["lr"], momentum=o["momentum"], dampening=o["dampening"],
                               nesterov=o["nesterov"], weight_decay=o["weight_decay"])
    return torch.optim.AdamW(params, lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"],
                             weight_decay=o["weight_decay"])


class Margins:
    """How far the training forwards stay from the points where the gradient jumps: the smallest |ReLU
    input|, the smallest gap between a max-pool window's two largest inputs, and (AdamW, whose first
    steps are ~lr * sign(g)) the smallest nonzero |gradient| relative to its tensor's largest."""

    def __init__(self, model):
        self.on, self.relu, self.pool, self.grad = False, math.inf, math.inf, math.inf
        for m in model.modules():
            if isinstance(m, nn.ReLU):
                m.register_forward_pre_hook(self._relu)  # pre-hook: before the in-place ReLU
            elif isinstance(m, nn.MaxPool2d):
                m.register_forward_pre_hook(self._pool)

    def _relu(self, m, inp):
        if self.on:
            self.relu = min(self.relu, inp[0].detach().abs().min().item())

    def _pool(self, m, inp):
        if self.on:
            x = inp[0].detach()
            cols = F.unfold(x, m.kernel_size, padding=m.padding, stride=m.stride)
            top2 = cols.reshape(x.shape[0], x.shape[1], -1, cols.shape[-1]).topk(2, dim=2).values
            live = top2[:, :, 0] > 0  # an all-zero window (after a ReLU) sends its gradient into dead units
            if live.any():
                self.pool = min(self.pool, (top2[:, :, 0] - top2[:, :, 1])[live].min().item())

    def grads(self, model):
        for p in model.parameters():
            g = p.grad.detach().abs()
            if (g > 0).any():
                self.grad = min(self.grad, (g[g > 0].min() / g.max()).item())

    def problems(self, adam):
        out = []
        if self.relu < RELU_MARGIN:
            out.append(f"a ReLU input {self.relu:.2g} from 0")
        if self.pool < RELU_MARGIN:
            out.append(f"a max-pool tie within {self.pool:.2g}")
        if adam and self.grad < ADAM_GRAD_MARGIN:
            out.append(f"a gradient {self.grad:.2g} of its tensor's scale under AdamW")
        return out


def run_case(case, dtype):
    """Everything the golden file holds, computed in `dtype` from the same (fp32-rounded) start, and
    the Margins of the three training forwards (the first is also the gradient forward)."""
    c = dict(COMMON, **case)
    gen = torch.Generator().manual_seed(c["seed"])
    model = build(c["arch"], c["base_width"], c["in_channels"], c["num_classes"], c["image_size"])
    randomise(model, gen)
    x = torch.randn(c["batch"], c["in_channels"], c["image_size"], c["image_size"], generator=gen)
    y = torch.randint(0, c["num_classes"], (c["batch"],), generator=gen)
    model = model.to(dtype)
    x = x.to(dtype)
    margins = Margins(model)
    init = {k: v.clone() for k, v in model.state_dict().items()}
    ls = c["label_smoothing"]
    out = {"input": x, "labels": y.to(torch.int32)}
    out.update({"init." + k: v for k, v in init.items()})

    model.train()
    logits = model(x)
    loss = F.cross_entropy(logits, y, label_smoothing=ls)
    loss.backward()
    out["train.logits"] = logits.detach()
    out["train.loss"] = loss.detach().reshape(1)
    for n, p in model.named_parameters():
        out["grad." + n] = p.grad.clone()
    for n, b in model.named_buffers():
        out["train_stats." + n] = b.clone()

    model.load_state_dict(init)
    opt = make_optimizer(model.parameters(), c["optimizer"])
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        margins.on = True
        loss = F.cross_entropy(model(x), y, label_smoothing=ls)
        margins.on = False
        loss.backward()
        margins.grads(model)
        opt.step()
        losses.append(loss.detach().reshape(1))
    out["step_losses"] = torch.cat(losses)
    out.update({"after." + k: v.clone() for k, v in model.state_dict().items()})
    model.eval()
    with torch.no_grad():
        out["eval.logits_after"] = model(x)
        model.load_state_dict(init)
        out["eval.logits"] = model(x)
    return {k: v.detach().contiguous() for k, v in out.items()}, c, margins


def tol_group(key):
    for prefix, group in (("grad.", "grad"), ("train_stats.", "stats"), ("after.", "after")):
        if key.startswith(prefix):
            return group
    return {"train.loss": "loss", "step_losses": "step_losses", "train.logits": "logits", "eval.logits": "eval",
            "eval.logits_after": "eval_after"}.get(key)  # None: inputs and the initial state, exact


def check_against_fp64(name, arch, got32, ref64):
    """Prints, per group, the worst |fp32 - fp64| as a share of the test tolerance; returns failures."""
    worst, bad = {}, []
    for k, r in ref64.items():
        g = tol_group(k)
        if g is None or not r.is_floating_point():
            continue
        d = (got32[k].double() - r).abs()
        if g == "grad" and r.abs().max() < 1e-10:  # zero in exact arithmetic: rounding noise
            ratio = got32[k].abs().max().item() / ZERO_GRAD
        else:
            atol, rtol = TOL[g] if g != "grad" else \
                (GRAD_SCALE.get(arch, GRAD_SCALE_DEFAULT) * r.abs().max().item(), GRAD_RTOL)
            ratio = (d / (atol + rtol * r.abs())).max().item()
        if ratio >= worst.get(g, (0, ""))[0]:
            worst[g] = (ratio, k)
        if ratio > MAX_SHARE:
            bad.append(f"{name}: {k} fp32 vs fp64 at {ratio:.2f}x the tolerance (at most {MAX_SHARE})")
    print("  fp32 vs fp64, worst share of the tolerance: " +
          ", ".join(f"{g} {r:.3f} ({k})" for g, (r, k) in sorted(worst.items())))
    return bad


def metadata(c, mg):
    meta = {"source": "scripts/golden/make_torch_golden.py", "torch_version": torch.__version__,
            "torchvision_version": torchvision.__version__, "steps": str(STEPS), "bn_eps": "1e-05",
            "bn_momentum": "0.1", "loss": "cross_entropy mean", "opt_kind": c["optimizer"]["kind"],
            "margin_relu": f"{mg.relu:.3g}", "margin_pool": f"{mg.pool:.3g}", "margin_grad": f"{mg.grad:.3g}"}
    for k, v in c.items():
        if k == "optimizer":
            meta.update({"opt_" + ok: str(ov).lower() if isinstance(ov, bool) else repr(ov) for ok, ov in v.items()
                         if ok != "kind"})
        else:
            meta[k] = v if isinstance(v, str) else repr(v)
    return meta


def write_goldens(out_dir):
    """Computes every case, checks it (fp64, margins) and writes the files only if all cases pass."""
    from safetensors.torch import save_file, load_file
    results, problems = [], []
    for case in CASES:
        t32, c, mg = run_case(case, torch.float32)
        t64, _, _ = run_case(case, torch.float64)
        print(f"{case['name']}: loss {t32['train.loss'].item():.6f}, step losses {t32['step_losses'].tolist()}")
        print(f"  margins: |ReLU input| >= {mg.relu:.2g}, max-pool gap >= {mg.pool:.2g}, "
              f"nonzero |grad| / scale >= {mg.grad:.2g}")
        problems += check_against_fp64(case["name"], c["arch"], t32, t64)
        problems += [f"{case['name']}: {p}; pick another seed" for p in mg.problems(c["optimizer"]["kind"] == "adamw")]
        results.append((case["name"], t32, metadata(c, mg)))
    if problems:
        for p in problems:
            print("PROBLEM", p)
        print("nothing written")
        return 1
    os.makedirs(out_dir, exist_ok=True)
    total = 0
    for name, t32, meta in results:
        path = os.path.join(out_dir, name + ".safetensors")
        save_file(t32, path, metadata=meta)
        back = load_file(path)
        assert set(back) == set(t32) and all(torch.equal(back[k], t32[k]) for k in t32), path
        total += os.path.getsize(path)
        nparams = sum(v.numel() for k, v in t32.items() if k.startswith("grad."))
        print(f"wrote {path}: {os.path.getsize(path)} bytes, {len(t32)} tensors, {nparams} parameters")
    print(f"total {total} bytes")
    return 0


# ----------------------------------------------------------------------- lrpcu -> PyTorch check
def recorded_image_size(meta, arch, sd, base_width):
    """The side of the images the weights were trained on: lrpcu records --crop / --resize in 'lrpcu.model'; else
    a CIFAR-form VGG's classifier input holds 8 * width * (side / 32)^2 values; else 32 (a ResNet takes any)."""
    import json
    model = json.loads(meta.get("lrpcu.model", "{}") or "{}")
    for key in ("crop", "resize"):
        if int(model.get(key, 0) or 0) > 0:
            return int(model[key])
    if arch.startswith("vgg") and "classifier.weight" in sd:
        cells = sd["classifier.weight"].shape[1] // (8 * base_width)
        side = math.isqrt(cells)
        if side * side == cells and side > 0:
            return 32 * side
    return int(meta.get("image_size", 32))


def check_lrpcu(path, args):
    from safetensors import safe_open
    from safetensors.torch import load_file
    with safe_open(path, framework="pt") as f:
        meta = f.metadata() or {}
    sd = load_file(path)
    arch = args.arch or meta.get("arch")
    if not arch:
        raise SystemExit(f"{path}: no 'arch' metadata; pass --arch")
    first = sd["conv1.weight"] if arch.startswith("resnet") else sd["features.0.weight"]
    last = sd["fc.weight"] if arch.startswith("resnet") else \
        sd["classifier.6.weight"] if "classifier.6.weight" in sd else sd["classifier.weight"]
    base_width = int(meta.get("base_width", first.shape[0]))
    in_channels, num_classes = first.shape[1], last.shape[0]
    image_size = args.image_size or recorded_image_size(meta, arch, sd, base_width)
    print(f"{path}: metadata {meta}")
    print(f"  model {arch}, base_width {base_width}, in_channels {in_channels}, classes {num_classes}, "
          f"image {image_size}x{image_size}, {len(sd)} tensors")
    model = build(arch, base_width, in_channels, num_classes, image_size)
    model.load_state_dict(sd, strict=True)  # every name, shape and dtype must match
    model.eval()
    problems = []
    if args.golden:
        gold = load_file(args.golden)
        x = gold["input"]
        for k, v in sd.items():
            ref = gold.get("after." + k)
            if ref is None:
                problems.append(f"{k}: not in the golden's after.* state")
            elif ref.dtype != v.dtype or ref.shape != v.shape:
                problems.append(f"{k}: {v.dtype} {list(v.shape)} vs golden {ref.dtype} {list(ref.shape)}")
            elif v.is_floating_point():
                if not torch.allclose(v, ref, rtol=TOL["after"][1], atol=TOL["after"][0]):
                    problems.append(f"{k}: max |diff| {(v - ref).abs().max().item():.3g}")
            elif not torch.equal(v, ref):
                problems.append(f"{k}: {v.tolist()} vs golden {ref.tolist()}")
    else:
        x = torch.randn(2, in_channels, image_size, image_size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits = model(x)
    print(f"  strict load_state_dict: OK; eval forward {list(x.shape)} -> {list(logits.shape)}")
    print("  logits[0]:", [round(v, 5) for v in logits[0].tolist()])
    if not torch.isfinite(logits).all():
        problems.append("non-finite logits")
    if args.golden:
        ref = gold["eval.logits_after"]
        err = (logits - ref).abs().max().item()
        print(f"  eval logits vs the golden's eval.logits_after: max |diff| {err:.3g}")
        if not torch.allclose(logits, ref, rtol=TOL["eval_after"][1], atol=TOL["eval_after"][0]):
            problems.append(f"eval logits differ from the golden by {err:.3g}")
    for p in problems:
        print("MISMATCH", p)
    print("OK" if not problems else f"{len(problems)} problems")
    return 0 if not problems else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--out", default=os.path.join(root, "tests", "data", "torch"))
    ap.add_argument("--check-lrpcu", metavar="PATH", help="load a state dict lrpcu wrote into PyTorch")
    ap.add_argument("--golden", metavar="PATH", help="with --check-lrpcu: compare with this golden's after.*")
    ap.add_argument("--arch", help="with --check-lrpcu: architecture when the file has no 'arch' metadata")
    ap.add_argument("--image-size", type=int, help="with --check-lrpcu: input size (VGG CIFAR form)")
    args = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    if args.check_lrpcu:
        return check_lrpcu(args.check_lrpcu, args)
    return write_goldens(args.out)


if __name__ == "__main__":
    sys.exit(main())
