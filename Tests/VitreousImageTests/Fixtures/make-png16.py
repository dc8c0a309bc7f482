#!/usr/bin/env python3
"""Writes png16/*.png, small PNGs of the kinds Pillow decodes differently from libpng's simplified API
(16-bit RGB, RGBA, gray+alpha and gray, gray with tRNS, gAMA / sRGB / iCCP chunks, Adam7 interlacing, and
1/2/4-bit and palette files beside them), and png16/expected.json: per file, the width, height and the hex
of Pillow's Image.open(f).convert("RGB") bytes. The PNG bytes are written here with zlib and struct (Pillow
cannot write 16-bit RGB, RGBA or gray+alpha, nor interlace), with a filter byte 0 on every row.
Made with Pillow 13.0.0 and numpy; rerun with python3 Tests/VitreousImageTests/Fixtures/make-png16.py."""
import io
import json
import os
import struct
import zlib

import numpy as np
import PIL
from PIL import Image, ImageCms

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "png16")
os.makedirs(here, exist_ok=True)
rng = np.random.default_rng(2916)
width, height = 7, 5
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def packed(samples, depth):
    """One row of samples ([W, C] integers) as PNG bytes: big-endian 16-bit, bytes, or packed MSB first."""
    if depth == 16:
        return samples.astype(">u2").tobytes()
    if depth == 8:
        return samples.astype(np.uint8).tobytes()
    flat = samples.reshape(-1).astype(np.uint8)
    per = 8 // depth
    flat = np.concatenate([flat, np.zeros(-len(flat) % per, np.uint8)]).reshape(-1, per)
    shifts = np.arange(per - 1, -1, -1, dtype=np.uint8) * depth
    return (flat << shifts).sum(axis=1).astype(np.uint8).tobytes()


def png(samples, depth, color_type, chunks=(), interlaced=False):
    """A PNG of samples [H, W, C]; chunks (kind, data) go between IHDR and IDAT."""
    h, w = samples.shape[:2]
    passes = ADAM7 if interlaced else [(0, 0, 1, 1)]
    raw = b""
    for x0, y0, dx, dy in passes:
        sub = samples[y0::dy, x0::dx]
        if sub.size:
            raw += b"".join(b"\0" + packed(row, depth) for row in sub)
    header = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 1 if interlaced else 0)
    body = chunk(b"IHDR", header) + b"".join(chunk(k, d) for k, d in chunks)
    return b"\x89PNG\r\n\x1a\n" + body + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def full(channels):
    return rng.integers(0, 65536, (height, width, channels))


# 16-bit gray: half the values at most 300 (kept, or clipped just above 255), half anywhere (clipped).
gray = np.where(rng.random((height, width, 1)) < 0.5, rng.integers(0, 301, (height, width, 1)), full(1))
gray[0, :4, 0] = [0, 255, 256, 65535]
rgb16 = full(3)
srgb_profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
srgb_profile[24:36] = struct.pack(">6H", 2026, 1, 1, 0, 0, 0)  # its creation time, fixed: the file repeats
srgb_profile = bytes(srgb_profile)
palette = rng.integers(0, 256, (16, 3))
files = {
    "rgb16.png": png(rgb16, 16, 2),
    "rgba16.png": png(full(4), 16, 6),
    "la16.png": png(full(2), 16, 4),
    "gray16.png": png(gray, 16, 0),
    "gray16-trns.png": png(gray, 16, 0, [(b"tRNS", struct.pack(">H", int(gray[1, 1, 0])))]),
    "gray16-srgb.png": png(gray, 16, 0, [(b"sRGB", b"\0")]),
    "rgb16-gama.png": png(rgb16, 16, 2, [(b"gAMA", struct.pack(">I", 100000)),
                                         (b"tRNS", struct.pack(">HHH", *rgb16[0, 0]))]),
    "rgb16-iccp.png": png(rgb16, 16, 2, [(b"iCCP", b"sRGB\0\0" + zlib.compress(srgb_profile))]),
    "rgba16-adam7.png": png(full(4), 16, 6, interlaced=True),
    "gray16-adam7.png": png(gray, 16, 0, interlaced=True),
    "rgb8-gama.png": png(rng.integers(0, 256, (height, width, 3)), 8, 2, [(b"gAMA", struct.pack(">I", 100000))]),
    "gray2.png": png(rng.integers(0, 4, (height, width, 1)), 2, 0),
    "gray1-adam7.png": png(rng.integers(0, 2, (height, width, 1)), 1, 0, interlaced=True),
    "palette4-trns.png": png(rng.integers(0, 16, (height, width, 1)), 4, 3,
                             [(b"PLTE", palette.astype(np.uint8).tobytes()), (b"tRNS", bytes([0, 128, 255]))]),
}

expected = {}
for name, data in sorted(files.items()):
    with open(os.path.join(here, name), "wb") as f:
        f.write(data)
    with Image.open(io.BytesIO(data)) as image:
        rgb = image.convert("RGB")
    expected[name] = {"width": rgb.width, "height": rgb.height, "rgb": rgb.tobytes().hex()}

# The fixtures tell the rules apart: Pillow keeps the high byte of 16-bit RGB (not libpng's rounded
# scaling), and clips 16-bit gray (not its high byte).
def pillow(name):
    return np.frombuffer(bytes.fromhex(expected[name]["rgb"]), np.uint8).reshape(height, width, 3)

assert np.array_equal(pillow("rgb16.png"), rgb16 >> 8)
assert not np.array_equal(pillow("rgb16.png"), (rgb16 * 255 + 32767) // 65535)
assert np.array_equal(pillow("gray16.png")[..., :1], np.minimum(gray, 255))
assert not np.array_equal(pillow("gray16.png")[..., :1], gray >> 8)
assert pillow("gray16.png")[0, 2, 0] == 255 and pillow("gray16.png")[0, 3, 0] == 255

with open(os.path.join(here, "expected.json"), "w") as f:
    json.dump({"pillow": PIL.__version__, "files": expected}, f, indent=1, sort_keys=True)
    f.write("\n")
