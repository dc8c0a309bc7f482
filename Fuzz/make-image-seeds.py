#!/usr/bin/env python3
"""Writes the seed corpora of FuzzJPEG and FuzzWebP under Fuzz/Corpus/ (committed; rerun only to change them).

Needs Pillow. Small real files (every one under the harness's 16 KB input cap) of the kinds the decoders
meet: baseline, progressive, 4:4:4 / 4:2:2 / 4:2:0, grayscale, CMYK and restart-interval JPEG, JPEG with EXIF
orientation; lossy, lossless, alpha and EXIF WebP. Deterministic (seeded synthetic pictures).
"""
from io import BytesIO
from pathlib import Path
import random
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent / "Corpus"
rng = random.Random(16)


def picture(width, height):
    image = Image.new("RGB", (width, height))
    image.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(width * height)])
    image = image.resize((width, height), Image.BICUBIC)
    draw = ImageDraw.Draw(image)
    draw.rectangle([width // 4, height // 4, width // 2, height // 2], fill=(250, 20, 20))
    draw.line([0, height - 1, width - 1, 0], fill=(255, 255, 255))
    return image


def exif(orientation):
    data = Image.Exif()
    data[0x0112] = orientation
    return data.tobytes()


def save(folder, name, image, **options):
    buffer = BytesIO()
    image.save(buffer, **options)
    data = buffer.getvalue()
    assert len(data) <= 16384, (name, len(data))
    (ROOT / folder).mkdir(parents=True, exist_ok=True)
    (ROOT / folder / name).write_bytes(data)


base, small, odd = picture(32, 24), picture(8, 8), picture(17, 5)
save("FuzzJPEG", "baseline.jpg", base, format="JPEG", quality=80)
save("FuzzJPEG", "progressive.jpg", base, format="JPEG", quality=70, progressive=True)
save("FuzzJPEG", "444.jpg", odd, format="JPEG", quality=90, subsampling=0)
save("FuzzJPEG", "422.jpg", odd, format="JPEG", quality=60, subsampling=1)
save("FuzzJPEG", "420-small.jpg", small, format="JPEG", quality=50, subsampling=2)
save("FuzzJPEG", "gray.jpg", base.convert("L"), format="JPEG", quality=75)
save("FuzzJPEG", "cmyk.jpg", small.convert("CMYK"), format="JPEG", quality=75)
save("FuzzJPEG", "restart.jpg", base, format="JPEG", quality=75, restart_marker_blocks=1)
save("FuzzJPEG", "exif6.jpg", odd, format="JPEG", quality=75, exif=exif(6))
save("FuzzWebP", "lossy.webp", base, format="WEBP", quality=70)
save("FuzzWebP", "lossless.webp", odd, format="WEBP", lossless=True)
rgba = base.convert("RGBA")
rgba.putalpha(Image.linear_gradient("L").resize(base.size))
save("FuzzWebP", "alpha-lossy.webp", rgba, format="WEBP", quality=60)
save("FuzzWebP", "alpha-lossless.webp", rgba, format="WEBP", lossless=True)
save("FuzzWebP", "exif8.webp", small, format="WEBP", quality=80, exif=exif(8))
save("FuzzWebP", "tiny.webp", Image.new("RGB", (1, 1), (9, 99, 199)), format="WEBP", lossless=True)
