#!/usr/bin/env python3
# Test helper: copies a safetensors file with its __metadata__ edited. Without KEY=VALUE pairs the metadata is
# removed (what a plain PyTorch state_dict looks like); with them, those string entries are set, others kept.
# Usage: edit_metadata.py <in.safetensors> <out.safetensors> [KEY=VALUE ...]
import json
import struct
import sys

raw = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
head = json.loads(raw[8:8 + n])
if len(sys.argv) == 3:
    head.pop('__metadata__', None)
for pair in sys.argv[3:]:
    key, value = pair.split('=', 1)
    head.setdefault('__metadata__', {})[key] = value
h = json.dumps(head).encode()
h += b' ' * (-len(h) % 8)
open(sys.argv[2], 'wb').write(struct.pack('<Q', len(h)) + h + raw[8 + n:])
