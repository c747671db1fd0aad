#!/usr/bin/env python3
# Golden safetensors files written by the reference `safetensors` library (tests/data/safetensors/),
# and a --check mode that reads a file written by lrpcu with that library and verifies its values.
"""Golden safetensors files for lrpcu's weight I/O tests.

Setup:  pip install safetensors numpy      (enough: numpy path)
        pip install torch safetensors      (optional: the torch path, used when torch imports)

Write the golden files (a small conv + batchnorm + linear state dict, the same values in fp32, fp16
and bf16; BatchNorm's num_batches_tracked stays int64 as in PyTorch):

    python3 scripts/golden/make_safetensors_golden.py [--out tests/data/safetensors]

Check a file written by lrpcu (names, shapes and values must be the golden state dict's):

    LRP_SAFETENSORS_OUT=/tmp/lrp.safetensors ./build/tests/lrp_tests \
        --gtest_filter=SafetensorsCpu.LoadsReferenceLibraryFiles
    python3 scripts/golden/make_safetensors_golden.py --check /tmp/lrp.safetensors

With torch, the files are written by safetensors.torch.save_file from torch tensors and --check uses
safetensors.torch.load_file. Without torch, numpy has no bfloat16: the bf16 tensors are rounded
from fp32 here (round to nearest even, as torch does) and their raw bits are handed to the
reference serializer with dtype "bfloat16", so every file is still written by the library itself.
The C++ test (tests/test_safetensors.cpp) recomputes the same values: keep the two in step.
"""
import argparse
import os
import sys

import numpy as np
import safetensors

try:
    import torch  # noqa: F401
    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False

# name -> (shape, kind). "exact": (i - n//2) / 8, representable in fp16 and bf16;
# "inexact": (-1)^i (i + 1) / 3, which the fp16/bf16 files hold rounded to nearest even.
SPEC = {
    "conv.weight": ((2, 1, 3, 3), "exact"),
    "conv.bias": ((2,), "exact"),
    "bn.weight": ((2,), "exact"),
    "bn.bias": ((2,), "exact"),
    "bn.running_mean": ((2,), "inexact"),
    "bn.running_var": ((2,), "inexact"),
    "fc.weight": ((3, 4), "inexact"),
    "fc.bias": ((3,), "exact"),
}
NUM_BATCHES_TRACKED = 42  # "bn.num_batches_tracked", int64, shape []
METADATA = {"format": "pt", "source": "scripts/golden/make_safetensors_golden.py"}
FILES = {"f32": "torch_f32.safetensors", "f16": "torch_f16.safetensors", "bf16": "torch_bf16.safetensors"}


def values(shape, kind):
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.float64)
    v = (i - n // 2) / 8 if kind == "exact" else np.where(i % 2 == 0, 1.0, -1.0) * (i + 1) / 3
    return v.astype(np.float32).reshape(shape)


def bf16_bits(f32):
    u = f32.view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def bf16_to_f32(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def expected(dtype):
    """The golden state dict as float32 numpy arrays (after the dtype's rounding) + the int64 buffer."""
    out = {}
    for name, (shape, kind) in SPEC.items():
        v = values(shape, kind)
        if dtype == "f16":
            v = v.astype(np.float16).astype(np.float32)
        elif dtype == "bf16":
            v = bf16_to_f32(bf16_bits(v))
        out[name] = v
    out["bn.num_batches_tracked"] = np.array(NUM_BATCHES_TRACKED, dtype=np.int64)
    return out


def write_torch(path, dtype):
    import torch
    from safetensors.torch import save_file
    tdt = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[dtype]
    sd = {n: torch.from_numpy(values(s, k)).to(tdt) for n, (s, k) in SPEC.items()}
    sd["bn.num_batches_tracked"] = torch.tensor(NUM_BATCHES_TRACKED, dtype=torch.int64)
    save_file(sd, path, metadata=METADATA)


def write_numpy(path, dtype):
    from safetensors.numpy import save_file
    if dtype != "bf16":
        npdt = np.float32 if dtype == "f32" else np.float16
        sd = {n: values(s, k).astype(npdt) for n, (s, k) in SPEC.items()}
        sd["bn.num_batches_tracked"] = np.array(NUM_BATCHES_TRACKED, dtype=np.int64)
        save_file(sd, path, metadata=METADATA)
        return
    # bf16: raw bits through the reference serializer (its API changed across versions).
    arrays = {n: np.ascontiguousarray(bf16_bits(values(s, k))) for n, (s, k) in SPEC.items()}
    nbt = np.array(NUM_BATCHES_TRACKED, dtype=np.int64)
    items = [(n, "bfloat16", a) for n, a in arrays.items()] + [("bn.num_batches_tracked", "int64", nbt)]
    if hasattr(safetensors, "TensorSpec"):
        spec = {n: safetensors.TensorSpec(dtype=d, shape=list(a.shape), data_ptr=a.ctypes.data,
                                          data_len=a.nbytes) for n, d, a in items}
    else:
        spec = {n: {"dtype": d, "shape": list(a.shape), "data": a.tobytes()} for n, d, a in items}
    safetensors.serialize_file(spec, path, metadata=METADATA)


def load_reference(path):
    """Every tensor as a numpy array (float32 for floating types), read by the reference library."""
    if HAVE_TORCH:
        from safetensors.torch import load_file
        import torch
        return {n: (t.float() if t.is_floating_point() else t).numpy() for n, t in load_file(path).items()}
    from safetensors.numpy import load_file
    return {n: (a.astype(np.float32) if a.dtype.kind == "f" else a) for n, a in load_file(path).items()}


def check(path):
    with safetensors.safe_open(path, framework="numpy") as f:
        print(f"{path}: metadata {f.metadata()}")
    got = load_reference(path)
    want = expected("f32")
    problems = []
    if set(got) != set(want):
        problems.append(f"names {sorted(got)} != expected {sorted(want)}")
    for name in sorted(set(got) & set(want)):
        g, w = got[name], want[name]
        print(f"  {name}: {g.dtype} {list(g.shape)}")
        if g.shape != w.shape:
            problems.append(f"{name}: shape {list(g.shape)} != {list(w.shape)}")
        elif g.dtype != w.dtype or not np.array_equal(g, w):
            problems.append(f"{name}: values {g.ravel()[:4]} ({g.dtype}) != {w.ravel()[:4]} ({w.dtype})")
    for p in problems:
        print("MISMATCH", p)
    print("OK" if not problems else f"{len(problems)} problems")
    return 0 if not problems else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--out", default=os.path.join(root, "tests", "data", "safetensors"))
    ap.add_argument("--check", metavar="PATH", help="verify a file written by lrpcu instead of writing")
    args = ap.parse_args()
    if args.check:
        return check(args.check)
    os.makedirs(args.out, exist_ok=True)
    for dtype, fname in FILES.items():
        path = os.path.join(args.out, fname)
        (write_torch if HAVE_TORCH else write_numpy)(path, dtype)
        got = load_reference(path) if dtype != "bf16" or HAVE_TORCH else None
        if got is not None:  # read back with the library (numpy cannot hold bf16)
            for name, w in expected(dtype).items():
                assert np.array_equal(got[name], w), (fname, name)
        with open(path, "rb") as f:
            safetensors.deserialize(f.read())  # the reference parser accepts the file
        print(f"wrote {path} ({os.path.getsize(path)} bytes, {'torch' if HAVE_TORCH else 'numpy'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
