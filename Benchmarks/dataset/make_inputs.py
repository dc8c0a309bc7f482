#!/usr/bin/env python3
"""Inputs of the dataset-encoding benchmark (Benchmarks/RESULTS.md, "Encoding a dataset").

  python3 make_inputs.py images 1000 jpg1000     # ImageNet-like JPEGs: 500×375 and 6 other sizes, quality 90
  python3 make_inputs.py model vits14            # seeded random ViT-S/14 (transformers Dinov2Model) + batch8.npy

Needs Pillow and numpy (images), torch and transformers (model). Seeded; no network.
"""
import os, sys
import numpy as np

def images(count, folder):
    from PIL import Image, ImageDraw
    rng = np.random.default_rng(17)
    sizes = [(500, 375), (375, 500), (500, 333), (500, 400), (450, 338), (640, 480), (500, 281)]
    base = rng.random((64, 64, 3)).astype(np.float32)
    for i in range(count):
        w, h = sizes[i % len(sizes)]
        smooth = Image.fromarray((np.roll(base, i, axis=(0, 1)) * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC)
        pixels = np.asarray(smooth).astype(np.int16) + rng.integers(-12, 13, (h, w, 3))
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(image)
        for _ in range(6):
            x, y = int(rng.integers(0, w - 40)), int(rng.integers(0, h - 40))
            draw.ellipse([x, y, x + int(rng.integers(10, 120)), y + int(rng.integers(10, 120))],
                         fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
        sub = os.path.join(folder, f"{i // 1000:03d}")
        os.makedirs(sub, exist_ok=True)
        image.save(os.path.join(sub, f"{i:06d}.jpg"), quality=90)

def model(folder):
    import torch
    from transformers import Dinov2Config, Dinov2Model
    torch.manual_seed(17)
    config = Dinov2Config(hidden_size=384, num_hidden_layers=12, num_attention_heads=6, intermediate_size=1536,
                          patch_size=14, image_size=518)
    Dinov2Model(config).eval().save_pretrained(folder, safe_serialization=True)
    rng = np.random.default_rng(9)
    np.save(os.path.join(folder, "batch8.npy"), rng.standard_normal((8, 3, 224, 224)).astype(np.float32))

if __name__ == "__main__":
    images(int(sys.argv[2]), sys.argv[3]) if sys.argv[1] == "images" else model(sys.argv[2])
