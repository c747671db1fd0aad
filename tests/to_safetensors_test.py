#!/usr/bin/env python3
"""scripts/to-safetensors.py: finding the state_dict inside a checkpoint and dropping the DataParallel /
torch.compile prefixes (standard library only); where torch and safetensors are installed, also a conversion
of a real checkpoint whose tensors come back equal."""
import importlib.util
import os
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("to_safetensors", os.path.join(here, "..", "scripts", "to-safetensors.py"))
ts = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ts)


class T:  # stands in for a tensor
    shape, dtype = (2,), "f32"

    def contiguous(self):
        return self


def expect_error(fn, *words):
    try:
        fn()
    except ValueError as e:
        assert all(w in str(e) for w in words), f"'{e}' lacks {words}"
        return
    raise AssertionError(f"no error (wanted one naming {words})")


w, b = T(), T()
assert ts.unwrap({"fc.weight": w}) == {"fc.weight": w}
assert ts.unwrap({"epoch": 3, "state_dict": {"fc.weight": w}}) == {"fc.weight": w}
assert ts.unwrap({"model": {"net": {"fc.weight": w}}, "optimizer": {}}) == {"fc.weight": w}
# a metric kept as a tensor next to the state_dict does not hide it
assert ts.unwrap({"best_acc1": b, "state_dict": {"fc.weight": w}}) == {"fc.weight": w}
expect_error(lambda: ts.unwrap({"epoch": 3, "optimizer": {"x": 1}}), "no state_dict", "epoch", "optimizer")
expect_error(lambda: ts.unwrap([w]), "list", "state_dict()")
sd, skipped = ts.clean({"module.fc.weight": w, "module._orig_mod.fc.bias": b, "module.n": 7})
assert sd == {"fc.weight": w, "fc.bias": b} and skipped == ["module.n"], (sd, skipped)
assert ts.clean({"backbone.fc.weight": w}, ["backbone."])[0] == {"fc.weight": w}
expect_error(lambda: ts.clean({"module.fc.weight": w, "fc.weight": b}), "fc.weight")
# A state_dict under an unknown key beside a metric tensor: which to convert is asked, not the metric written alone.
odd = {"epoch": 3, "model_state": {"fc.weight": w, "fc.bias": b}, "best_acc": b}
expect_error(lambda: ts.unwrap(odd), "which is the state_dict", "best_acc", "'model_state' (2 tensors)", "--key")
expect_error(lambda: ts.unwrap({"epoch": 3, "weights": {"fc.weight": w}}), "'weights' (1 tensors)", "--key")
assert ts.unwrap(odd, "model_state") == {"fc.weight": w, "fc.bias": b}
assert ts.unwrap({"ema": {"model": {"fc.weight": w}}}, "ema.model") == {"fc.weight": w}
expect_error(lambda: ts.unwrap(odd, "model"), "--key model: no entry 'model'", "model_state")
expect_error(lambda: ts.unwrap(odd, "epoch"), "--key epoch holds no dict of tensors")
# a state_dict at the top level beside an optimizer state: '--key .' converts the top level's tensors
flat = {"fc.weight": w, "optimizer": {"state": {"m": b}}}
expect_error(lambda: ts.unwrap(flat), "which is the state_dict", "--key .")
assert ts.unwrap(flat, ".") is flat
# under a known wrapper key, a nested dict of tensors beside the weights does not hide them
assert ts.unwrap({"model": {"fc.weight": w, "extra": {"x": b}}}) == {"fc.weight": w, "extra": {"x": b}}


def exits(args, *words):
    try:
        ts.main(args)
    except SystemExit as e:
        assert all(wd in str(e.code) for wd in words), f"'{e.code}' lacks {words}"
        return
    raise AssertionError(f"{args}: no error")


# Files that are no checkpoint, and bad paths or flags: a message before torch is imported.
with tempfile.TemporaryDirectory() as d:
    def file(name, data):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        return os.path.join(d, name)
    out = os.path.join(d, "o.safetensors")
    exits([file("empty.pth", b""), out], "empty")
    exits([file("noise.pth", bytes(range(7, 200))), out], "not a PyTorch checkpoint")
    exits([file("s.safetensors", b"\x10\0\0\0\0\0\0\0{}" + b" " * 14), out], "safetensors file already")
    ok = file("ok.pth", b"PK\x03\x04")
    exits([ok, out, "--strip-prefix", ""], "--strip-prefix", "empty")
    exits([ok, os.path.join(d, "no", "o.safetensors")], "does not exist")
    exits([ok, d, "--force"], "is a directory")
    exits([d, out], "a directory, not a file")

try:
    import torch
    from safetensors.torch import load_file
except ImportError:
    print("to-safetensors: the pure checks passed; torch or safetensors missing, conversion not run")
    sys.exit(0)
with tempfile.TemporaryDirectory() as d:
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    torch.save({"epoch": 1, "state_dict": torch.nn.DataParallel(net).state_dict()}, os.path.join(d, "c.pth"))
    ts.main([os.path.join(d, "c.pth"), os.path.join(d, "c.safetensors")])
    got = load_file(os.path.join(d, "c.safetensors"))
    want = net.state_dict()
    assert sorted(got) == sorted(want), sorted(got)
    assert all(torch.equal(got[k], want[k]) for k in want)
    exits([os.path.join(d, "c.pth"), os.path.join(d, "c.safetensors")], "exists", "--force")
    exits([os.path.join(d, "c.pth"), os.path.join(d, "c.pth"), "--force"], "is the input file")
    ts.main([os.path.join(d, "c.pth"), os.path.join(d, "c.safetensors"), "--force"])
    # a checkpoint with Python objects besides tensors: refused unless trusted
    import argparse
    torch.save({"args": argparse.Namespace(lr=0.1), "state_dict": net.state_dict()}, os.path.join(d, "t.pth"))
    if "weights_only" in torch.load.__code__.co_varnames:
        exits([os.path.join(d, "t.pth"), os.path.join(d, "t.safetensors")], "--trust")
    ts.main([os.path.join(d, "t.pth"), os.path.join(d, "t.safetensors"), "--trust"])
    assert sorted(load_file(os.path.join(d, "t.safetensors"))) == sorted(want)
    # a truncated checkpoint is called that; --trust is not suggested for it
    with open(os.path.join(d, "c.pth"), "rb") as f:
        half = f.read()
    with open(os.path.join(d, "half.pth"), "wb") as f:
        f.write(half[:len(half) // 2])
    exits([os.path.join(d, "half.pth"), os.path.join(d, "h.safetensors")], "truncated or corrupt")
    # an unknown wrapper key: --key picks it
    torch.save({"model_state": net.state_dict(), "best_acc": torch.tensor(0.9)}, os.path.join(d, "k.pth"))
    exits([os.path.join(d, "k.pth"), os.path.join(d, "k.safetensors")], "--key", "model_state")
    ts.main([os.path.join(d, "k.pth"), os.path.join(d, "k.safetensors"), "--key", "model_state"])
    assert sorted(load_file(os.path.join(d, "k.safetensors"))) == sorted(want)
print("to-safetensors: all checks passed")
