# Minimal PNG writer for the shell tests' image folders (no PIL here): 8-bit grey (1 channel) or RGB (3 channels).
import os
import struct
import zlib


def write_png(path, w, h, channels, rows):
    """rows: h rows of w * channels byte values each; parent folders are made."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    raw = b''.join(b'\x00' + bytes(r) for r in rows)
    chunk = lambda t, d: struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    kind = {1: 0, 3: 2}[channels]
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, kind, 0, 0, 0)) +
                chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
