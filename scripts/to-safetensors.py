#!/usr/bin/env python3
"""Converts a PyTorch checkpoint (.pth/.pt/.bin: a state_dict, or a training checkpoint holding one under
'state_dict', 'model_state_dict', 'model' or 'net') into the safetensors file lrpcu reads for --weights and
--init-weights. Prefixes added by DataParallel ('module.') and torch.compile ('_orig_mod.') are dropped;
non-tensor entries are left out and listed. Needs torch and safetensors (pip install torch safetensors).
usage: to-safetensors.py IN OUT [--strip-prefix P]... [--key K] [--trust] [--force]
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


def count_tensors(v):
    """The tensors in v, in nested dicts, lists and tuples too."""
    if is_tensor(v):
        return 1
    if isinstance(v, dict):
        return sum(count_tensors(x) for x in v.values())
    if isinstance(v, (list, tuple)):
        return sum(count_tensors(x) for x in v)
    return 0


def holders(obj):
    """'key (N tensors)' for each non-tensor entry of obj that holds tensors."""
    return [f"'{k}' ({count_tensors(v)} tensors)" for k, v in obj.items() if not is_tensor(v) and count_tensors(v)]


def unwrap(obj, key=None, top=True):
    """The state_dict inside a checkpoint: obj[key] when a key (dotted for nested dicts) is given; else under the
    first wrapper key that holds one (searched recursively; a training checkpoint may keep metrics as tensors next
    to its 'state_dict'), else obj itself when it maps names to tensors and holds no other dict of tensors (an
    unknown wrapper key beside a metric tensor gave a file of that metric alone). Raises ValueError naming the keys
    found otherwise."""
    if key is not None:
        for part in ([] if key == "." else key.split(".")):  # ".": the top level itself
            if not isinstance(obj, dict) or part not in obj:
                keys = sorted(map(str, obj))[:20] if isinstance(obj, dict) else type(obj).__name__
                raise ValueError(f"--key {key}: no entry '{part}' (there: {keys})")
            obj = obj[part]
        if not isinstance(obj, dict) or not any(is_tensor(v) for v in obj.values()):
            raise ValueError(f"--key {key} holds no dict of tensors")
        return obj
    if isinstance(obj, dict):
        for k in WRAPPERS:
            if k in obj and isinstance(obj[k], dict):
                try:
                    return unwrap(obj[k], top=False)
                except ValueError:
                    pass
        nested = holders(obj)
        tensors = [str(k) for k, v in obj.items() if is_tensor(v)]
        # Under a known wrapper key the tensors are the state_dict (other entries are listed as left out); at the
        # top level, tensors beside other dicts of tensors may be metrics beside a state_dict under an unknown key.
        if tensors and (not nested or not top):
            return obj
        if tensors:
            raise ValueError(f"which is the state_dict? the top level holds {len(tensors)} tensor(s) "
                             f"({', '.join(tensors[:5])}) beside other entries holding tensors: {', '.join(nested[:5])}"
                             f"; --key names the one to convert (--key . the top level's tensors)")
        if nested:
            raise ValueError(f"no state_dict under a known key ({', '.join(WRAPPERS)}); entries holding tensors: "
                             f"{', '.join(nested[:5])}; --key names the one to convert")
        raise ValueError(f"no state_dict found: top-level keys {sorted(map(str, obj))[:20]} hold no tensors "
                         f"(looked under {', '.join(WRAPPERS)})")
    raise ValueError(f"no state_dict found: the file holds a {type(obj).__name__}, not a dict of tensors "
                     "(save model.state_dict(), not the model)")


def sniff(path):
    """Why the file cannot be a PyTorch checkpoint, from its first bytes (None: it may be one). torch.save writes
    a zip archive (a pickle in older versions)."""
    with open(path, "rb") as f:
        head = f.read(512)
    if not head:
        return "the file is empty"
    if head.startswith(b"PK\x03\x04") or head[:1] == b"\x80" or head[257:262] == b"ustar":  # tar: torch < 0.4
        return None
    if len(head) > 8 and head[8:9] == b"{":
        return "this is a safetensors file already: lrpcu reads it as it is (--weights, --init-weights)"
    return "not a PyTorch checkpoint (neither the zip archive nor the pickle torch.save writes)"


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
    def first_line(e):
        return (str(e).splitlines() or [type(e).__name__])[0][:200]
    try:
        return torch.load(path, map_location="cpu", weights_only=not trust)
    except TypeError as e:  # a torch without weights_only: it always unpickles
        if "weights_only" not in str(e):
            sys.exit(f"to-safetensors: {path}: cannot be loaded (truncated or corrupt?): {first_line(e)}")
        if not trust:
            sys.exit(f"to-safetensors: {path}: this torch ({torch.__version__}) cannot load a checkpoint without "
                     "running code from it; rerun with --trust if you trust the file")
        return torch.load(path, map_location="cpu")
    except Exception as e:  # pickle, zip and storage errors of every kind
        # Only the restricted unpickler's refusal means "more than tensors"; anything else is a damaged file, which
        # --trust would unpickle with code execution on for nothing.
        restricted = isinstance(e, pickle.UnpicklingError) and "eights only load failed" in str(e)
        if trust or not restricted:
            sys.exit(f"to-safetensors: {path}: cannot be loaded (truncated or corrupt?): {first_line(e)}")
        sys.exit(f"to-safetensors: {path}: holds Python objects besides tensors (e.g. training arguments, or a "
                 f"whole pickled model), which torch loads only by running code from the file "
                 f"({first_line(e)}); rerun with --trust if you trust the file")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--strip-prefix", action="append", default=[], help="also drop this name prefix (repeatable)")
    ap.add_argument("--key", help="the entry holding the state_dict (dotted for nested ones, e.g. ema.model; '.': the "
                                  "top level's tensors), where the checkpoint keeps it under a name this script does "
                                  "not know")
    ap.add_argument("--trust", action="store_true",
                    help="load with torch.load(weights_only=False), which runs code from the file: for files holding "
                         "more than tensors (training arguments, a pickled model) from a source you trust")
    ap.add_argument("--force", action="store_true", help="replace an existing output file")
    a = ap.parse_args(argv)
    if not os.path.isfile(a.input):
        sys.exit(f"to-safetensors: {a.input}: " + ("a directory, not a file" if os.path.isdir(a.input)
                                                   else "no such file"))
    if "" in a.strip_prefix:
        sys.exit("to-safetensors: --strip-prefix: the prefix is empty (an unset shell variable?)")
    if os.path.isdir(a.output):
        sys.exit(f"to-safetensors: the output {a.output} is a directory; give the file to write")
    if not os.path.isdir(os.path.dirname(os.path.abspath(a.output))):
        sys.exit(f"to-safetensors: the output's folder {os.path.dirname(os.path.abspath(a.output))} does not exist")
    if os.path.exists(a.output) and os.path.samefile(a.input, a.output):
        sys.exit(f"to-safetensors: the output {a.output} is the input file")
    if os.path.exists(a.output) and not a.force:
        sys.exit(f"to-safetensors: {a.output} exists; --force replaces it")
    why = sniff(a.input)
    if why:
        sys.exit(f"to-safetensors: {a.input}: {why}")
    obj = load(a.input, a.trust)
    from safetensors.torch import save_file
    try:
        sd, skipped = clean(unwrap(obj, a.key), a.strip_prefix)
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
