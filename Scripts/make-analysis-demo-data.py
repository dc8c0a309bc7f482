#!/usr/bin/env python3
"""Writes the labelled demo data of the article "Analysing a model": classes/flat-block and classes/textured,
ten 224×224 PNGs each (uniform noise; in flat-block a 56×56 square of one colour on the patch grid), and
masks/ with the same names (the square white). Run: python3 Scripts/make-analysis-demo-data.py OUT (NumPy, Pillow)."""
import pathlib
import sys

import numpy as np
from PIL import Image

out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "analysis-demo")
rng = np.random.default_rng(0)
for name in ["flat-block", "textured"]:
    (out / "classes" / name).mkdir(parents=True, exist_ok=True)
    (out / "masks" / name).mkdir(parents=True, exist_ok=True)
    for i in range(10):
        image = (rng.random((224, 224, 3)) * 255).astype(np.uint8)
        mask = np.zeros((224, 224), np.uint8)
        if name == "flat-block":
            y, x = rng.integers(0, 8, 2) * 14
            image[y:y + 56, x:x + 56] = rng.integers(0, 255, 3)
            mask[y:y + 56, x:x + 56] = 255
        Image.fromarray(image).save(out / "classes" / name / f"{i}.png")
        Image.fromarray(mask).save(out / "masks" / name / f"{i}.png")
print(f"wrote {out}/classes and {out}/masks")
