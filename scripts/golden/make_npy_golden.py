#!/usr/bin/env python3
# Golden .npy files written by NumPy itself (tests/data/npy/) for lrpcu's .npy reader, and a --check
# mode that reads a file written by lrpcu with NumPy and verifies its values.
"""Golden .npy files for lrpcu's reader and writer tests.

Setup:  pip install numpy

Write the fixtures (small arrays whose values are a function of their index, see `values`):

    python3 scripts/golden/make_npy_golden.py [--out tests/data/npy]

Check files written by lrpcu (the test writes f32.npy, i32.npy, i64.npy into LRP_NPY_OUT):

    LRP_NPY_OUT=/tmp/lrp-npy ./build/tests/lrp_tests --gtest_filter=NpyCpu.ReadsNumpyFiles
    python3 scripts/golden/make_npy_golden.py --check /tmp/lrp-npy
"""
import argparse
import os
import sys

import numpy as np


def values(shape, dtype):
    """Element i is (i * 7 % 23) - 11, plus 0.25 for float types: signed, non-zero in most places."""
    n = int(np.prod(shape)) if len(shape) else 1
    v = (np.arange(n) * 7 % 23 - 11).astype(np.float64)
    if np.dtype(dtype).kind == "f":
        v = v + 0.25
    return v.astype(dtype).reshape(shape)


# name -> (shape, dtype, format version, fortran order); the readable ones first. Of the rest, lrpcu refuses the
# big-endian and float16 files and reads the Fortran-order one as the same array in C order.
READABLE = {
    "f32_nchw_v1": ((2, 3, 4, 5), "<f4", (1, 0)),
    "f32_nchw_v2": ((2, 3, 4, 5), "<f4", (2, 0)),
    "f32_nchw_v3": ((1, 1, 2, 3), "<f4", (3, 0)),
    "f64_2d": ((3, 5), "<f8", (1, 0)),
    "i64_labels": ((7,), "<i8", (1, 0)),
    "i32_labels": ((7,), "<i4", (1, 0)),
    "f32_scalar": ((), "<f4", (1, 0)),
    "f32_empty": ((0, 3, 2, 2), "<f4", (1, 0)),
    "u8_images": ((1, 1, 2, 2), "|u1", (1, 0)),  # read as int32 (245, 252, 3, 10: the values wrap)
}
REFUSED = {
    "f32_big_endian": ((2, 3), ">f4", (1, 0), False),
    "f32_fortran": ((2, 3), "<f4", (1, 0), True),
    "f16_2d": ((2, 3), "<f2", (1, 0), False),
}


def write(out):
    os.makedirs(out, exist_ok=True)
    for name, (shape, dtype, version) in READABLE.items():
        with open(os.path.join(out, name + ".npy"), "wb") as f:
            np.lib.format.write_array(f, values(shape, dtype), version=version)
    for name, (shape, dtype, version, fortran) in REFUSED.items():
        a = values(shape, dtype)
        if fortran:
            a = np.asfortranarray(a)
        with open(os.path.join(out, name + ".npy"), "wb") as f:
            np.lib.format.write_array(f, a, version=version)
    print(f"wrote {len(READABLE) + len(REFUSED)} files to {out} (numpy {np.__version__})")


def check(d):
    expect = {"f32.npy": ((2, 3, 4, 5), "<f4"), "i32.npy": ((7,), "<i4"), "i64.npy": ((7,), "<i8")}
    bad = 0
    for name, (shape, dtype) in expect.items():
        a = np.load(os.path.join(d, name), allow_pickle=False)
        want = values(shape, dtype)
        if a.dtype != np.dtype(dtype) or a.shape != shape or not np.array_equal(a, want):
            print(f"{name}: got {a.dtype} {a.shape}, want {dtype} {shape} with the golden values")
            bad += 1
        else:
            print(f"{name}: ok ({a.dtype} {a.shape})")
    return 1 if bad else 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "npy"))
    ap.add_argument("--check", metavar="DIR", help="verify the files an lrpcu test wrote into DIR")
    args = ap.parse_args()
    sys.exit(check(args.check) if args.check else write(args.out))
