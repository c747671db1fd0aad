#!/usr/bin/env python3
"""PyTorch eager reference for bench_models: forward, forward+backward and the SGD training step of
CIFAR ResNet-18 and VGG-16-BN (lrpcu's CIFAR forms), batch 128 and 512, fp32 with PyTorch's default
TF32 settings, timed with CUDA events on the same GPU. The forward runs with autograd on (it keeps what a
backward needs, as lrpcu's does; records before 2026-12-07 timed it under no_grad). Prints one JSON line per case.
Run on the GPU machine: python3 bench/torch_train_bench.py [--iters 20]
On the CPU (bench_models' CPU cases, batch 8, wall-clock median): --device cpu --batches 8 --iters 3"""
import argparse, json, os, sys, time
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


def bench(model, batch, phase, iters, dev):
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
            # autograd on, as lrpcu's train-mode forward keeps its activations for a backward (no_grad would
            # skip that bookkeeping and time less work); the graph is freed with the output
            model(x)

    for _ in range(3 if dev.type == 'cuda' else 1):
        once()
    if dev.type == 'cpu':
        times = []
        for _ in range(iters):
            t0 = time.perf_counter(); once(); times.append((time.perf_counter() - t0) * 1e3)
        times.sort()
        med = times[len(times) // 2]
        return {'ms': med, 'images_per_s': batch / med * 1e3}
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
    ap.add_argument('--device', default=None, choices=['cuda', 'cpu'], help='default: cuda where torch sees a GPU')
    ap.add_argument('--batches', default='128,512', help='comma-separated batch sizes')
    ap.add_argument('--threads', type=int, default=os.cpu_count(), help='CPU: intra-op threads (default: all cores)')
    a = ap.parse_args()
    if a.device is None:
        a.device = 'cuda' if torch.cuda.is_available() else 'cpu'
        print(f'torch_train_bench: --device {a.device} (torch sees {"a" if a.device == "cuda" else "no"} GPU)',
              file=sys.stderr)
    dev = torch.device(a.device)
    if dev.type == 'cpu':
        torch.set_num_threads(a.threads)  # Debian's torch starts with 1
    if dev.type == 'cuda':
        info = {'torch': torch.__version__, 'device': torch.cuda.get_device_name(0),
                'cudnn': torch.backends.cudnn.version(), 'tf32_conv': torch.backends.cudnn.allow_tf32,
                'tf32_matmul': torch.backends.cuda.matmul.allow_tf32}
    else:
        info = {'torch': torch.__version__, 'device': 'cpu', 'threads': torch.get_num_threads()}
    info['fwd'] = 'autograd on'
    print(json.dumps({'context': info}))
    for name, ctor in [('resnet18', cifar_resnet18), ('vgg16_bn', cifar_vgg16_bn)]:
        for phase in ['fwd', 'fwd_bwd', 'train_step']:
            for batch in [int(b) for b in a.batches.split(',')]:
                torch.manual_seed(0)
                r = bench(ctor(), batch, phase, a.iters, dev)
                print(json.dumps({'model': name, 'phase': phase, 'batch': batch, **r}), flush=True)


if __name__ == '__main__':
    main()
