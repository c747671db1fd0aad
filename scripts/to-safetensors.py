#!/usr/bin/env python3
"""Converts a PyTorch checkpoint (.pth/.pt/.bin: a state_dict, or a training checkpoint holding one under
'state_dict', 'model_state_dict', 'model' or 'net') into the safetensors file lrpcu reads for --weights and
--init-weights. Prefixes added by DataParallel ('module.') and torch.compile ('_orig_mod.') are dropped;
non-tensor entries are left out and listed. Needs torch and safetensors (pip install torch safetensors).
usage: to-safetensors.py IN OUT [--strip-prefix P]... [--trust] [--force]
e.g. the RelDrop reference's CIFAR-10 backbone (timm's resnet18 from edadaltocg/resnet18_cifar10 on Hugging
Face, with torchvision's key names), when it comes as a .bin/.pth state_dict:
  scripts/to-safetensors.py pytorch_model.bin resnet18_cifar10.safetensors
  build/lrpcu train --dataset cifar10 --arch resnet18 --init-weights resnet18_cifar10.safetensors \\
      --init-head normal:0.01 ..."""
import argparse
import os
import sys

WRAPPERS = ("state_dict", "model_state_dict", "model", "net")
PREFIXES = ("module.", "_orig_mod.")


def is_tensor(v):
    return hasattr(v, "shape") and hasattr(v, "dtype") and hasattr(v, "contiguous")


def unwrap(obj):
    """The state_dict inside a checkpoint: under the first wrapper key that holds one (searched recursively;
    a training checkpoint may keep metrics as tensors next to its 'state_dict'), else obj itself when it maps
    names to tensors. Raises ValueError naming the keys found otherwise."""
    if isinstance(obj, dict):
        for key in WRAPPERS:
            if key in obj and isinstance(obj[key], dict):
                try:
                    return unwrap(obj[key])
                except ValueError:
                    pass
        if any(is_tensor(v) for v in obj.values()):
            return obj
        raise ValueError(f"no state_dict found: top-level keys {sorted(map(str, obj))[:20]} hold no tensors "
                         f"(looked under {', '.join(WRAPPERS)})")
    raise ValueError(f"no state_dict found: the file holds a {type(obj).__name__}, not a dict of tensors "
                     "(save model.state_dict(), not the model)")


def clean(sd, extra_prefixes=()):
    """(tensors with prefixes stripped, names of the non-tensor entries left out). Raises ValueError when two
    names collide after stripping."""
    out, skipped = {}, []
    for name, v in sd.items():
        if not is_tensor(v):
            skipped.append(name)
            continue
        new = name
        changed = True
        while changed:
            changed = False
            for p in PREFIXES + tuple(extra_prefixes):
                if new.startswith(p):
                    new, changed = new[len(p):], True
        if new in out:
            raise ValueError(f"'{name}' and another entry both become '{new}' after the prefixes are dropped")
        out[new] = v
    return out, skipped


def load(path, trust):
    """torch.load without running code from the file unless `trust`; exits naming the problem."""
    import pickle
    import torch
    try:
        return torch.load(path, map_location="cpu", weights_only=not trust)
    except TypeError:  # a torch without weights_only: it always unpickles
        if not trust:
            sys.exit(f"to-safetensors: {path}: this torch ({torch.__version__}) cannot load a checkpoint without "
                     "running code from it; rerun with --trust if you trust the file")
        return torch.load(path, map_location="cpu")
    except (pickle.UnpicklingError, RuntimeError, AttributeError, ModuleNotFoundError) as e:
        if trust:
            sys.exit(f"to-safetensors: {path}: cannot be loaded: {str(e).splitlines()[0]}")
        sys.exit(f"to-safetensors: {path}: holds Python objects besides tensors (e.g. training arguments, or a "
                 f"whole pickled model), which torch loads only by running code from the file "
                 f"({str(e).splitlines()[0][:200]}); rerun with --trust if you trust the file")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--strip-prefix", action="append", default=[], help="also drop this name prefix (repeatable)")
    ap.add_argument("--trust", action="store_true",
                    help="load with torch.load(weights_only=False), which runs code from the file: for files holding "
                         "more than tensors (training arguments, a pickled model) from a source you trust")
    ap.add_argument("--force", action="store_true", help="replace an existing output file")
    a = ap.parse_args(argv)
    if not os.path.isfile(a.input):
        sys.exit(f"to-safetensors: {a.input}: no such file")
    if os.path.exists(a.output) and os.path.samefile(a.input, a.output):
        sys.exit(f"to-safetensors: the output {a.output} is the input file")
    if os.path.exists(a.output) and not a.force:
        sys.exit(f"to-safetensors: {a.output} exists; --force replaces it")
    obj = load(a.input, a.trust)
    from safetensors.torch import save_file
    try:
        sd, skipped = clean(unwrap(obj), a.strip_prefix)
    except ValueError as e:
        sys.exit(f"to-safetensors: {a.input}: {e}")
    if not sd:
        sys.exit(f"to-safetensors: {a.input}: the state_dict holds no tensors")
    # safetensors refuses shared or strided storage: each tensor gets its own contiguous copy.
    sd = {k: v.detach().contiguous().clone() for k, v in sd.items()}
    # Written beside the output and renamed over it: a failed write (full disk, Ctrl-C) leaves an existing file whole.
    tmp = f"{a.output}.tmp.{os.getpid()}"
    try:
        save_file(sd, tmp, metadata={"source": a.input})
        os.replace(tmp, a.output)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    print(f"{a.output}: {len(sd)} tensors from {a.input}" + (f"; left out (not tensors): {', '.join(skipped)}"
                                                             if skipped else ""))


if __name__ == "__main__":
    main(sys.argv[1:])
