#!/usr/bin/env python3
"""PyTorch eager reference for bench_models: forward, forward+backward and the SGD training step of
CIFAR ResNet-18 and VGG-16-BN (lrpcu's CIFAR forms), batch 128 and 512, fp32 with PyTorch's default
TF32 settings, timed with CUDA events on the same GPU. Prints one JSON line per case.
Run on the GPU machine: python3 bench/torch_train_bench.py [--iters 20]"""
import argparse, json, time
import torch, torch.nn as nn, torchvision


def cifar_resnet18(classes=10):
    m = torchvision.models.resnet18(num_classes=classes)
    m.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    m.maxpool = nn.Identity()
    return m


def cifar_vgg16_bn(classes=10):
    cfg = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M']
    layers, c = [], 3
    for v in cfg:
        if v == 'M':
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
            c = v
    return nn.Sequential(nn.Sequential(*layers), nn.Flatten(), nn.Linear(512, classes))


def bench(model, batch, phase, iters):
    dev = torch.device('cuda')
    model = model.to(dev).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, 3, 32, 32, device=dev)
    y = torch.arange(batch, device=dev) % 10
    loss_fn = nn.CrossEntropyLoss()

    def once():
        if phase == 'train_step':
            opt.zero_grad(set_to_none=True)
            loss_fn(model(x), y).backward()
            opt.step()
        elif phase == 'fwd_bwd':
            model.zero_grad(set_to_none=True)
            model(x).sum().mul(1e-3).backward()
        else:
            with torch.no_grad():
                model(x)

    for _ in range(3):
        once()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(iters):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(); once(); b.record(); b.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    med = times[len(times) // 2]
    return {'ms': med, 'images_per_s': batch / med * 1e3, 'peak_MiB': torch.cuda.max_memory_allocated() / 2**20}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--iters', type=int, default=20)
    a = ap.parse_args()
    info = {'torch': torch.__version__, 'device': torch.cuda.get_device_name(0),
            'cudnn': torch.backends.cudnn.version(), 'tf32_conv': torch.backends.cudnn.allow_tf32,
            'tf32_matmul': torch.backends.cuda.matmul.allow_tf32}
    print(json.dumps({'context': info}))
    for name, ctor in [('resnet18', cifar_resnet18), ('vgg16_bn', cifar_vgg16_bn)]:
        for phase in ['fwd', 'fwd_bwd', 'train_step']:
            for batch in [128, 512]:
                r = bench(ctor(), batch, phase, a.iters)
                print(json.dumps({'model': name, 'phase': phase, 'batch': batch, **r}), flush=True)


if __name__ == '__main__':
    main()
