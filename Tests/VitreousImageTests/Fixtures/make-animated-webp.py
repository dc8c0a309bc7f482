#!/usr/bin/env python3
"""Writes animated/animated.webp, a seeded 3-frame lossless animated WebP (frames of different content, the
later ones with transparent and blended regions), and animated/expected.json: the size and SHA-256 of
Pillow's Image.open(f).convert("RGB") bytes (frame 0 on its canvas) and of frame 1's, which must differ.
Made with Pillow 13.0.0 and numpy; rerun with python3 Tests/VitreousImageTests/Fixtures/make-animated-webp.py."""
import hashlib
import json
import os

import numpy as np
import PIL
from PIL import Image

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "animated")
os.makedirs(here, exist_ok=True)
rng = np.random.default_rng(29)
width, height = 61, 37
frames = []
for k in range(3):
    rgba = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    if k > 0:
        rgba[5:20, 10:40, 3] = 0          # transparent: the previous frame shows through
        rgba[22:30, :, 3] = 128           # half-transparent: blended with it
    frames.append(Image.fromarray(rgba, "RGBA"))
path = os.path.join(here, "animated.webp")
frames[0].save(path, save_all=True, append_images=frames[1:], lossless=True, duration=[100, 120, 140], loop=0)

def digest(image):
    rgb = image.convert("RGB")
    return {"width": rgb.width, "height": rgb.height, "rgb": hashlib.sha256(rgb.tobytes()).hexdigest()}

with Image.open(path) as image:
    assert image.n_frames == 3 and image.is_animated
    first = digest(image)
    image.seek(1)
    second = digest(image)
assert first["rgb"] != second["rgb"]
with open(os.path.join(here, "expected.json"), "w") as f:
    json.dump({"pillow": PIL.__version__, "frame0": first, "frame1": second}, f, indent=1, sort_keys=True)
    f.write("\n")
