#!/usr/bin/env python3
"""Converts a PyTorch checkpoint (.pth/.pt/.bin: a state_dict, or a training checkpoint holding one under
'state_dict', 'model_state_dict', 'model' or 'net') into the safetensors file lrpcu reads for --weights and
--init-weights. Prefixes added by DataParallel ('module.') and torch.compile ('_orig_mod.') are dropped;
non-tensor entries are left out and listed. Needs torch and safetensors (pip install torch safetensors).
usage: to-safetensors.py IN OUT [--strip-prefix P]...
e.g. the RelDrop reference's CIFAR-10 backbone (timm's resnet18 from edadaltocg/resnet18_cifar10 on Hugging
Face, with torchvision's key names), when it comes as a .bin/.pth state_dict:
  scripts/to-safetensors.py pytorch_model.bin resnet18_cifar10.safetensors
  build/lrpcu train --dataset cifar10 --arch resnet18 --init-weights resnet18_cifar10.safetensors \\
      --init-head normal:0.01 ..."""
import argparse
import sys

WRAPPERS = ("state_dict", "model_state_dict", "model", "net")
PREFIXES = ("module.", "_orig_mod.")


def is_tensor(v):
    return hasattr(v, "shape") and hasattr(v, "dtype") and hasattr(v, "contiguous")


def unwrap(obj):
    """The state_dict inside a checkpoint: obj itself when it maps names to tensors, else the first wrapper key
    whose value does (searched recursively). Raises ValueError naming the keys found otherwise."""
    if isinstance(obj, dict) and any(is_tensor(v) for v in obj.values()):
        return obj
    if isinstance(obj, dict):
        for key in WRAPPERS:
            if key in obj:
                try:
                    return unwrap(obj[key])
                except ValueError:
                    pass
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


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--strip-prefix", action="append", default=[], help="also drop this name prefix (repeatable)")
    a = ap.parse_args(argv)
    import torch
    from safetensors.torch import save_file
    try:
        obj = torch.load(a.input, map_location="cpu", weights_only=True)
    except TypeError:  # a torch without weights_only
        obj = torch.load(a.input, map_location="cpu")
    try:
        sd, skipped = clean(unwrap(obj), a.strip_prefix)
    except ValueError as e:
        sys.exit(f"to-safetensors: {a.input}: {e}")
    if not sd:
        sys.exit(f"to-safetensors: {a.input}: the state_dict holds no tensors")
    # safetensors refuses shared or strided storage: each tensor gets its own contiguous copy.
    sd = {k: v.detach().contiguous().clone() for k, v in sd.items()}
    save_file(sd, a.output, metadata={"source": a.input})
    print(f"{a.output}: {len(sd)} tensors from {a.input}" + (f"; left out (not tensors): {', '.join(skipped)}"
                                                             if skipped else ""))


if __name__ == "__main__":
    main(sys.argv[1:])
