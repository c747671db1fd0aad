#!/usr/bin/env python3
# Test helper: copies a safetensors file without its __metadata__ (what a plain PyTorch state_dict looks like).
# Usage: strip_metadata.py <in.safetensors> <out.safetensors>
import json
import struct
import sys

raw = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
head = json.loads(raw[8:8 + n])
head.pop('__metadata__', None)
h = json.dumps(head).encode()
h += b' ' * (-len(h) % 8)
open(sys.argv[2], 'wb').write(struct.pack('<Q', len(h)) + h + raw[8 + n:])
