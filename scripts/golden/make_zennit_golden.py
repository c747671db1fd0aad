#!/usr/bin/env python3
"""Golden input relevances from zennit 0.5.1 for lrpcu's LRP parity tests (tests/test_lrp_golden.cpp).

Writes tests/data/zennit/<model>.safetensors, one file per model, holding
  input            float32 [N, 3, S, S]  (N = 3, S = 16 for the CIFAR forms; see MODELS for the ImageNet forms)
  target           int64   [N]           (the one-hot label of every attribution)
  logits           float32 [N, 10]       (zennit's canonized float64 forward, incl. the 0.5.1 BN residue)
  zbox.low/high    float32 [3]           (per-channel ZBox bounds of epsilon_gamma_box)
  relevance.<composite>  float32 [N, 3, S, S]  (computed in float64, rounded once to float32)
  model.<state_dict key> (float32 weights; int64 num_batches_tracked)
and metadata {"arch", "base_width", "image_size", "num_classes", "custom_name", "composites", versions,
"zennit_fp32_rel_l2"}. The last is the conditioning of each composite: the worst per-sample relative L2 error of
zennit's own float32 runs against its float64 one, over the input as given and 7 copies moved by one ulp
(fp32_error). Wherever it is small, an fp32 implementation can meet the 1e-4 acceptance; RelDrop's composite
on the ResNets (relevance copied to both addends of every residual sum, and the branch convolutions' Epsilon
steps multiply the largest values by up to 200, so the map reaches 1e8..1e16 and rounding grows with it) is
ill-conditioned, and zennit's own fp32 runs miss 1e-4 there (tests/test_lrp_golden.cpp
holds those cases to 3x zennit's fp32 error).

The PyTorch models mirror lrpcu's builders (nn/src/models.cpp) module for module and name for name:
CIFAR-form ResNet = torchvision BasicBlock / Bottleneck blocks with a 3x3/s1/p1 stem, no max-pool, planes
scaled by base_width; CIFAR-form VGG = features (conv[, bn], relu, max-pools that stay >= 1x1) + flatten +
one Linear `classifier`; the ImageNet forms are torchvision's (7x7/s2 stem and 3x3/s2 max-pool; VGG's
adaptive 7x7 pool and Linear-ReLU-Dropout x2 + Linear classifier), with widths scaled by base_width / 64.
Weights are drawn in float32 and the model is run in float64, so both sides see identical parameters; BN
statistics are randomised so that folding matters.

Composites: zennit's built-ins with ResNetCanonizer / VGGCanonizer (the LRP ones, ExcitationBackprop, and the
gradient-based DeconvNet, GuidedBackprop and BetaSmooth, the last with a corrected ReLU hook: PerCallBetaSmooth),
five of them again with other epsilon, stabilizer, gamma, zero_params=['bias'] and beta_smooth (WITH_OPTIONS),
RelDrop's reference composite,
`custom` (WSquare first layer, Gamma(0.5) convs, Epsilon(1e-2) dense, an Epsilon(0.01, zero_params=bias)
name-map entry on `custom_name`, Sum -> Norm) which covers the rules no built-in uses, and `custom_stab`
(Epsilon with the norm_scale stabilizer on convs, with the clip stabilizer on the dense layer).

Environment (Debian's torch 1.13 for /usr/bin/python3; zennit and safetensors without their deps):
  apt-get install python3-torch python3-torchvision
  pip install --no-deps --target /work/main/.deps/py zennit==0.5.1
  pip install --target /work/main/.deps/py safetensors
Run from the repository root:
  PYTHONPATH=/work/main/.deps/py /usr/bin/python3 scripts/golden/make_zennit_golden.py
"""
import json
import math
import os
import sys

import torch
import torchvision
from torchvision.models.resnet import BasicBlock, Bottleneck
import zennit
from zennit.attribution import Gradient
from zennit.canonizers import SequentialMergeBatchNorm
from zennit.composites import (BetaSmooth, DeconvNet, EpsilonAlpha2Beta1, LayerMapComposite, EpsilonAlpha2Beta1Flat,
                               EpsilonGammaBox, EpsilonPlus, EpsilonPlusFlat, ExcitationBackprop, GuidedBackprop,
                               MixedComposite, NameMapComposite, SpecialFirstLayerMapComposite, layer_map_base)
from zennit.core import Stabilizer
from zennit.rules import Epsilon, Flat, Gamma, Norm, Pass, ReLUBetaSmooth, WSquare
from zennit.torchvision import ResNetCanonizer
from zennit.types import Activation, AvgPool, BatchNorm, Convolution, Linear
from safetensors.torch import save_file

from importlib.metadata import version
assert version('zennit') == '0.5.1', version('zennit')

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'tests', 'data', 'zennit')
CLASSES, IN_CH = 10, 3
DRAWS = 8  # zennit float32 runs per composite that measure its conditioning (see fp32_error)
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)

VGG_CFG = {11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M']}


class VGG(torch.nn.Module):
    def __init__(self, depth, bn, width, size, imagenet=False):
        super().__init__()
        layers, c_in = [], IN_CH
        for v in VGG_CFG[depth]:
            if v == 'M':
                if imagenet or size >= 2:  # lrpcu's CIFAR form leaves out pools that would go below 1x1
                    layers.append(torch.nn.MaxPool2d(2, 2))
                    size //= 2
                continue
            c = max(1, v * width // 64)
            layers.append(torch.nn.Conv2d(c_in, c, 3, padding=1, bias=True))
            if bn:
                layers.append(torch.nn.BatchNorm2d(c))
            layers.append(torch.nn.ReLU())
            c_in = c
        self.features = torch.nn.Sequential(*layers)
        if imagenet:  # torchvision's VGG head, its 4096 hidden units scaled by width / 64
            hidden = max(1, 4096 * width // 64)
            self.avgpool = torch.nn.AdaptiveAvgPool2d(7)
            self.flatten = torch.nn.Flatten()
            self.classifier = torch.nn.Sequential(
                torch.nn.Linear(c_in * 49, hidden), torch.nn.ReLU(True), torch.nn.Dropout(),
                torch.nn.Linear(hidden, hidden), torch.nn.ReLU(True), torch.nn.Dropout(),
                torch.nn.Linear(hidden, CLASSES))
        else:
            self.avgpool = torch.nn.Identity()
            self.flatten = torch.nn.Flatten()
            self.classifier = torch.nn.Linear(c_in * size * size, CLASSES)

    def forward(self, x):
        return self.classifier(self.flatten(self.avgpool(self.features(x))))


class ResNet(torch.nn.Module):
    def __init__(self, block, blocks, width, imagenet=False):
        super().__init__()
        if imagenet:  # torchvision's stem: 7x7 stride-2 conv, then an overlapping 3x3 stride-2 max-pool
            self.conv1 = torch.nn.Conv2d(IN_CH, width, 7, 2, 3, bias=False)
        else:
            self.conv1 = torch.nn.Conv2d(IN_CH, width, 3, 1, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(width)
        self.relu = torch.nn.ReLU(inplace=True)
        self.maxpool = torch.nn.MaxPool2d(3, 2, 1) if imagenet else torch.nn.Identity()
        in_planes = width
        for stage, count in enumerate(blocks):
            planes = width << stage
            layer = []
            for b in range(count):
                stride = 2 if stage > 0 and b == 0 else 1
                out_planes = planes * block.expansion
                downsample = None
                if stride != 1 or in_planes != out_planes:
                    downsample = torch.nn.Sequential(
                        torch.nn.Conv2d(in_planes, out_planes, 1, stride, bias=False),
                        torch.nn.BatchNorm2d(out_planes))
                layer.append(block(in_planes, planes, stride, downsample))
                in_planes = out_planes
            setattr(self, f'layer{stage + 1}', torch.nn.Sequential(*layer))
        self.avgpool = torch.nn.AdaptiveAvgPool2d(1)
        self.flatten = torch.nn.Flatten()
        self.fc = torch.nn.Linear(in_planes, CLASSES)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.flatten(self.avgpool(x)))


# name -> (builder, base_width, image size, batch, canonizer factory, name-map target of the custom composite).
# The ImageNet-form ResNet runs at 30 x 30 (stem 15, max-pool 8, stages 8, 4, 2, 1): the 7x7 stem and the stride-2
# convolutions of the stages leave an input row and column that no window's last tap reaches (the output padding
# of the relevance pass), and the 3x3 stride-2 max-pool's windows overlap. The ImageNet-form VGG's adaptive pool
# replicates its 1x1 map to 7x7.
VGG_CANON, RESNET_CANON = lambda: [SequentialMergeBatchNorm()], lambda: [ResNetCanonizer()]
MODELS = {
    'vgg11': (lambda: VGG(11, False, 4, 16), 4, 16, 3, VGG_CANON, 'features.3'),
    'vgg11_bn': (lambda: VGG(11, True, 4, 16), 4, 16, 3, VGG_CANON, 'features.4'),
    'resnet18': (lambda: ResNet(BasicBlock, [2, 2, 2, 2], 4), 4, 16, 3, RESNET_CANON, 'layer1.0.conv2'),
    'resnet50': (lambda: ResNet(Bottleneck, [3, 4, 6, 3], 2), 2, 16, 3, RESNET_CANON, 'layer2.0.conv2'),
    'resnet18_imagenet': (lambda: ResNet(BasicBlock, [2, 2, 2, 2], 4, True), 4, 30, 2, RESNET_CANON, 'layer1.0.conv2'),
    'vgg11_bn_imagenet': (lambda: VGG(11, True, 1, 32, True), 1, 32, 2, VGG_CANON, 'features.4'),
}


def randomise(model, gen):
    """float32 weights (He-scaled normal), BN statistics and affine parameters away from the identity."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * (2.0 / fan_in) ** .5)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
            elif isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.2)
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.2)
                m.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.5)
                m.num_batches_tracked.fill_(7)


# Built-ins with non-default parameters: name -> (built-in, its keyword arguments). The test builds each with
# lrpcu's CompositeOptions of the same values (recorded in the file's "composite_options" metadata).
WITH_OPTIONS = {
    'epsilon_gamma_box_opts': ('epsilon_gamma_box', dict(epsilon=1e-2, gamma=0.5, stabilizer=1e-4)),
    'epsilon_plus_flat_opts': ('epsilon_plus_flat', dict(epsilon=0.1, stabilizer=1e-3, zero_bias=True)),
    'epsilon_alpha2_beta1_opts': ('epsilon_alpha2_beta1', dict(epsilon=1e-3, stabilizer=1e-5, zero_bias=True)),
    'excitation_backprop_opts': ('excitation_backprop', dict(stabilizer=1e-4, zero_bias=True)),
    'beta_smooth_opts': ('beta_smooth', dict(beta_smooth=2.5)),
}


class PerCallBetaSmooth(ReLUBetaSmooth):
    """zennit 0.5.1's ReLUBetaSmooth, reading each call's input before the module runs. 0.5.1 stores the input in a
    forward hook, after the module ran, and one input per module: an in-place ReLU (torchvision's VGGs and blocks
    use ReLU(inplace=True)) has overwritten it with relu(x) by then, so negative inputs get sigmoid(0) = 1/2, and
    torchvision's blocks, which apply their one `relu` module twice (BasicBlock) or three times (Bottleneck), give
    every earlier call the last call's input (Bottleneck: of another shape, an error). lrpcu's ReLUs are not in
    place and there is one per call; this hook is sigmoid(beta x) R with each call's own x (the calls' backward
    passes run in reverse order), and zennit's own on modules used once and not in place (the CIFAR-form VGGs)."""
    def copy(self):
        return self.__class__(beta_smooth=self.beta_smooth)

    def pre_forward(self, module, input):
        post = super().pre_forward(module, input)
        x = post[0] if isinstance(post, tuple) else post
        self.stored_tensors.setdefault('inputs', []).append(x.detach().clone())
        return post

    def forward(self, module, input, output):
        pass

    def backward(self, module, grad_input, grad_output):
        x = self.stored_tensors['inputs'].pop()
        return (torch.sigmoid(self.beta_smooth * x) * grad_output[0],)


def composites(canonizers, custom_name, low, high):
    def reldrop():
        return SpecialFirstLayerMapComposite(
            layer_map=[(Activation, Pass()), (AvgPool, Norm()), (Convolution, Epsilon(1e-3)),
                       (Linear, Epsilon(1e-3)), (BatchNorm, Pass())],
            first_map=[(Linear, Flat())], canonizers=canonizers())

    def custom():
        first = SpecialFirstLayerMapComposite(
            layer_map=layer_map_base() + [(Convolution, Gamma(gamma=0.5)), (torch.nn.Linear, Epsilon(1e-2))],
            first_map=[(Linear, WSquare())])
        names = NameMapComposite(name_map=[((custom_name,), Epsilon(1e-2, zero_params=['bias']))])
        return MixedComposite([names, first], canonizers=canonizers())

    def custom_stab():  # the stabilizer modes of docs/adding-a-rule.md's worked example
        return LayerMapComposite(
            layer_map=layer_map_base() + [(Convolution, Epsilon(Stabilizer(0.1, norm_scale=True))),
                                          (torch.nn.Linear, Epsilon(Stabilizer(1e-2, clip=True)))],
            canonizers=canonizers())

    def beta_smooth(beta=10.):  # BetaSmooth's map with the per-call hook ahead of its own (first match wins)
        return BetaSmooth(beta_smooth=beta, layer_map=[(torch.nn.ReLU, PerCallBetaSmooth(beta_smooth=beta))],
                          canonizers=canonizers())

    def with_options(name):
        base, o = WITH_OPTIONS[name]
        if base == 'beta_smooth':
            return beta_smooth(o['beta_smooth'])
        kwargs = dict(stabilizer=o['stabilizer'], canonizers=canonizers(),
                      zero_params=['bias'] if o.get('zero_bias') else None)
        if base == 'excitation_backprop':
            return ExcitationBackprop(**kwargs)
        kwargs['epsilon'] = o['epsilon']
        if base == 'epsilon_gamma_box':
            return EpsilonGammaBox(low=low, high=high, gamma=o['gamma'], **kwargs)
        return {'epsilon_plus_flat': EpsilonPlusFlat, 'epsilon_alpha2_beta1': EpsilonAlpha2Beta1}[base](**kwargs)

    return {
        'epsilon_plus': lambda: EpsilonPlus(canonizers=canonizers()),
        'epsilon_plus_flat': lambda: EpsilonPlusFlat(canonizers=canonizers()),
        'epsilon_gamma_box': lambda: EpsilonGammaBox(low=low, high=high, canonizers=canonizers()),
        'epsilon_alpha2_beta1': lambda: EpsilonAlpha2Beta1(canonizers=canonizers()),
        'epsilon_alpha2_beta1_flat': lambda: EpsilonAlpha2Beta1Flat(canonizers=canonizers()),
        'reldrop': reldrop,
        'custom': custom,
        'custom_stab': custom_stab,
        'excitation_backprop': lambda: ExcitationBackprop(canonizers=canonizers()),
        'deconvnet': lambda: DeconvNet(canonizers=canonizers()),
        'guided_backprop': lambda: GuidedBackprop(canonizers=canonizers()),
        'beta_smooth': beta_smooth,
        **{name: (lambda name=name: with_options(name)) for name in WITH_OPTIONS},
    }


def attribute(model, x, onehot, composite):
    with Gradient(model=model, composite=composite) as attributor:
        out, rel = attributor(x, onehot)
    return out.detach(), rel.detach()


def worst_sample_rel_l2(got, ref):
    """The largest relative L2 error of one sample (dimension 0), as tests/test_lrp_golden.cpp measures."""
    n = ref.shape[0]
    diff = (got.double() - ref).reshape(n, -1).norm(dim=1)
    return (diff / ref.reshape(n, -1).norm(dim=1)).max().item()


def fp32_error(model, x32, onehot, make, rel, gen):
    """The conditioning of one case: the worst per-sample error of zennit's own float32 runs against its float64
    result, over DRAWS runs: the input as given, then copies of it with every element moved one ulp up or down
    at random. A float32 pass rounds every intermediate about that much, so the spread over the draws is what
    any float32 implementation (lrpcu on CPU or CUDA, with its own summation orders) can expect; one draw alone
    understates it by up to 4x on the ill-conditioned cases."""
    model.float()
    worst = 0.0
    for d in range(DRAWS):
        xd = x32
        if d > 0:
            up = torch.rand(x32.shape, generator=gen) < 0.5
            xd = torch.where(up, torch.nextafter(x32, torch.full_like(x32, math.inf)),
                             torch.nextafter(x32, torch.full_like(x32, -math.inf)))
        _, rel32 = attribute(model, xd, onehot.float(), make())
        worst = max(worst, worst_sample_rel_l2(rel32, rel))
    model.double()
    return worst


def main():
    torch.manual_seed(0)
    os.makedirs(OUT_DIR, exist_ok=True)
    mean = torch.tensor(CIFAR_MEAN, dtype=torch.float32)
    std = torch.tensor(CIFAR_STD, dtype=torch.float32)
    low32, high32 = (0 - mean) / std, (1 - mean) / std
    low, high = low32.double().view(1, 3, 1, 1), high32.double().view(1, 3, 1, 1)
    for seed, (arch, (build, width, size, batch, canonizers, custom_name)) in enumerate(MODELS.items()):
        gen = torch.Generator().manual_seed(1000 + seed)
        ulp_gen = torch.Generator().manual_seed(2000 + seed)
        model = build()
        randomise(model, gen)
        model.eval()
        state32 = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
        model = model.double()
        x32 = torch.randn(batch, IN_CH, size, size, generator=gen)
        target = torch.randint(0, CLASSES, (batch,), generator=gen)
        x = x32.double()
        onehot = torch.nn.functional.one_hot(target, CLASSES).double()
        tensors = {'input': x32, 'target': target.to(torch.int64), 'zbox.low': low32, 'zbox.high': high32}
        names, conditioning = [], {}
        for name, make in composites(canonizers, custom_name, low, high).items():
            out, rel = attribute(model, x, onehot, make())
            assert torch.isfinite(rel).all(), (arch, name)
            cond = fp32_error(model, x32, onehot, make, rel, ulp_gen)  # the same float32 weights
            if name == 'epsilon_plus':
                tensors['logits'] = out.float()
            tensors['relevance.' + name] = rel.float().contiguous()
            sums = rel.sum(dim=(1, 2, 3)).tolist()
            print(f'{arch:17s} {name:26s} sums {["%.4g" % s for s in sums]}  zennit fp32 vs fp64, worst sample and '
                  f'draw: rel. L2 {cond:.2e}')
            names.append(name)
            conditioning[name] = cond
        # the canonizers must leave the model as it was
        for k, v in model.state_dict().items():
            assert torch.equal(v.to(state32[k].dtype), state32[k]), k
        for k, v in state32.items():
            tensors['model.' + k] = v
        meta = {'arch': arch, 'base_width': str(width), 'image_size': str(size), 'num_classes': str(CLASSES),
                'custom_name': custom_name, 'composites': ','.join(names),
                'zennit_fp32_rel_l2': json.dumps(conditioning),
                'composite_options': json.dumps({n: {'composite': b, **o} for n, (b, o) in WITH_OPTIONS.items()}),
                'versions': json.dumps({'zennit': '0.5.1', 'torch': torch.__version__,
                                        'torchvision': torchvision.__version__, 'python': sys.version.split()[0]})}
        path = os.path.join(OUT_DIR, arch + '.safetensors')
        save_file(tensors, path, metadata=meta)
        print(f'wrote {path} ({os.path.getsize(path)} bytes)')


if __name__ == '__main__':
    main()
