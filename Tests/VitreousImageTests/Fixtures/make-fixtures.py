#!/usr/bin/env python3
"""Makes the image fixtures of VitreousImageTests with Pillow, and their expected pixels and features.

Run from anywhere: python3 Tests/VitreousImageTests/Fixtures/make-fixtures.py
Needs Pillow and numpy; the feature references also need torch and transformers (skipped with a warning
when absent). Everything is generated (seeded): no network, no photographs of unknown licence. The
"photo" images imitate a photograph's statistics — smooth multi-octave noise, hard-edged shapes, thin
lines and text-like glyphs — because those are what separate an 8-bit fixed-point resize from a float one.

Writes, next to this script:
  images/      the files, in every format Vitreous decodes
  expected.json  per file: Pillow's decoded size and SHA-256 of Image.open(f).convert("RGB"), with EXIF
                 orientation applied (ImageOps.exif_transpose), and of each preprocessing case below
  features/    transformers' final hidden state for some files, fed Pillow + torchvision-rule tensors
"""
import hashlib, io, json, os, sys
import numpy as np
import PIL
from PIL import Image, ImageDraw, ImageFont, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGES = os.path.join(HERE, "images")
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def photo(width, height, seed):
    """Smooth coloured noise over several octaves, plus shapes with sharp edges, lines and glyphs."""
    rng = np.random.default_rng(seed)
    canvas = np.zeros((height, width, 3), dtype=np.float64)
    for octave, weight in ((3, 0.5), (9, 0.3), (27, 0.15)):
        small = rng.random((octave, octave, 3))
        layer = Image.fromarray((small * 255).astype(np.uint8)).resize((width, height), Image.BICUBIC)
        canvas += weight * np.asarray(layer, dtype=np.float64)
    canvas += rng.normal(0, 6, canvas.shape)  # sensor-like grain
    image = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        x1, y1 = x0 + int(rng.integers(3, max(4, width // 3))), y0 + int(rng.integers(3, max(4, height // 3)))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        (draw.rectangle if rng.random() < 0.5 else draw.ellipse)([x0, y0, x1, y1], fill=colour)
    for _ in range(4):
        points = [int(rng.integers(0, width)), int(rng.integers(0, height)),
                  int(rng.integers(0, width)), int(rng.integers(0, height))]
        draw.line(points, fill=(255, 255, 255) if rng.random() < 0.5 else (0, 0, 0), width=1)
    font = ImageFont.load_default()
    for row in range(0, height, 23):
        draw.text((int(rng.integers(0, max(1, width // 4))), row), "Vitreous DINOv2 14px", fill=(0, 0, 0), font=font)
    return image


def with_alpha(image, seed):
    rng = np.random.default_rng(seed)
    w, h = image.size
    ramp = np.tile(np.linspace(0, 255, w, dtype=np.float64), (h, 1))
    alpha = np.clip(ramp + rng.normal(0, 20, ramp.shape), 0, 255).astype(np.uint8)
    alpha[: h // 3, : w // 3] = 0  # fully transparent corner: its colour must survive convert("RGB")
    rgba = image.convert("RGBA")
    rgba.putalpha(Image.fromarray(alpha))
    return rgba


def exif_with_orientation(value):
    exif = Image.Exif()
    exif[0x0112] = value
    return exif.tobytes()


def ycck_jpeg(image, path, quality=85):
    """A YCCK JPEG (Adobe transform 2), which Pillow cannot write: libjpeg-turbo's TurboJPEG compresses
    CMYK pixels to YCCK. The system library (libturbojpeg0), through ctypes."""
    import ctypes
    lib = ctypes.CDLL("libturbojpeg.so.0")
    lib.tjInitCompress.restype = ctypes.c_void_p
    lib.tjCompress2.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                ctypes.c_int, ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte)),
                                ctypes.POINTER(ctypes.c_ulong), ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.tjFree.argtypes = [ctypes.c_void_p]
    lib.tjDestroy.argtypes = [ctypes.c_void_p]
    pixels = np.ascontiguousarray(np.asarray(image.convert("CMYK"), dtype=np.uint8))
    handle = lib.tjInitCompress()
    buffer, size = ctypes.POINTER(ctypes.c_ubyte)(), ctypes.c_ulong(0)
    TJPF_CMYK, TJSAMP_420 = 11, 2
    status = lib.tjCompress2(handle, pixels.ctypes.data, image.width, 0, image.height, TJPF_CMYK,
                             ctypes.byref(buffer), ctypes.byref(size), TJSAMP_420, quality, 0)
    assert status == 0, "tjCompress2 failed"
    with open(path, "wb") as f:
        f.write(bytes(bytearray(buffer[: size.value])))
    lib.tjFree(buffer)
    lib.tjDestroy(handle)
    with Image.open(path) as check:
        assert check.mode == "CMYK" and check.info.get("adobe_transform") == 2, "not a YCCK JPEG"


def write_images():
    os.makedirs(IMAGES, exist_ok=True)
    base = photo(336, 263, 1)  # 336×263 → 327×256: an odd 103-pixel margin, where the crop roundings differ
    small = photo(97, 61, 2)  # smaller than 224: upscaled
    wide = photo(600, 71, 3)  # very wide
    tall = photo(45, 410, 4)  # very tall
    square = photo(224, 224, 5)  # no resize at the default size
    files = {
        "photo-baseline.jpg": (base, dict(format="JPEG", quality=90)),
        "photo-progressive.jpg": (base, dict(format="JPEG", quality=85, progressive=True)),
        "photo-444.jpg": (base, dict(format="JPEG", quality=92, subsampling=0)),
        "photo-422.jpg": (base, dict(format="JPEG", quality=80, subsampling=1)),
        "photo-gray.jpg": (base.convert("L"), dict(format="JPEG", quality=90)),
        "photo-cmyk.jpg": (base.convert("CMYK"), dict(format="JPEG", quality=75)),
        "photo-exif6.jpg": (small, dict(format="JPEG", quality=90, exif=exif_with_orientation(6))),
        "photo-lossy.webp": (base, dict(format="WEBP", quality=80)),
        "photo-lossless.webp": (small, dict(format="WEBP", lossless=True)),
        "photo-alpha-lossy.webp": (with_alpha(small, 6), dict(format="WEBP", quality=75)),
        "photo-alpha-lossless.webp": (with_alpha(small, 7), dict(format="WEBP", lossless=True, exact=True)),
        "photo-exif3.webp": (small, dict(format="WEBP", quality=80, exif=exif_with_orientation(3))),
        "small.png": (small, dict(format="PNG")),
        "small-rgba.png": (with_alpha(small, 8), dict(format="PNG")),
        "small-gray.png": (small.convert("L"), dict(format="PNG")),
        "small-palette.png": (small.quantize(64), dict(format="PNG")),
        "wide.jpg": (wide, dict(format="JPEG", quality=90)),
        "tall.webp": (tall, dict(format="WEBP", quality=85)),
        "tall.png": (tall, dict(format="PNG")),
        "square.jpg": (square, dict(format="JPEG", quality=90)),
    }
    for name, (image, options) in files.items():
        image.save(os.path.join(IMAGES, name), **options)
    ycck_jpeg(small, os.path.join(IMAGES, "small-ycck.jpg"))
    return sorted(list(files) + ["small-ycck.jpg"])


def digest(image):
    return hashlib.sha256(image.tobytes()).hexdigest()


def torchvision_resize(image, size, resample):
    """torchvision.transforms.Resize(size) on a PIL image: shorter side to size, the other int(size·long/short)."""
    w, h = image.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    return image if (new_w, new_h) == (w, h) else image.resize((new_w, new_h), resample)


def center_crop(image, size, floor):
    w, h = image.size
    left = (w - size) // 2 if floor else int(round((w - size) / 2.0))
    top = (h - size) // 2 if floor else int(round((h - size) / 2.0))
    return image.crop((left, top, left + size, top + size))


def nearest_multiple(image, patch=14):
    w, h = image.size
    size = tuple(max(patch, int(round(side / patch)) * patch) for side in (w, h))
    return image if size == (w, h) else image.resize(size, Image.BICUBIC)


CASES = {
    # DINOv2's evaluation transform as torchvision runs it on a PIL image: Resize(256, BICUBIC), CenterCrop(224).
    "torchvision224": lambda im: center_crop(torchvision_resize(im, 256, Image.BICUBIC), 224, floor=False),
    # transformers' BitImageProcessor on PIL: the same resize, the crop offset floored.
    "transformers224": lambda im: center_crop(torchvision_resize(im, 256, Image.BICUBIC), 224, floor=True),
    "auto": nearest_multiple,
    "exact112x84": lambda im: im.resize((112, 84), Image.BICUBIC),
    "bilinear99x45": lambda im: im.resize((99, 45), Image.BILINEAR),
    # Height shrinks by more than twice what the width does: Pillow ≥ 13 runs the vertical pass first.
    "squash": lambda im: im.resize((max(1, im.width - 7), max(1, im.height // 6)), Image.BICUBIC),
}


def tensor(image):
    """ToTensor + Normalize, in float32 as torchvision computes them."""
    array = np.asarray(image, dtype=np.uint8).astype(np.float32) / np.float32(255)
    return ((array - MEAN) / STD).transpose(2, 0, 1)[None].copy()


def main():
    names = write_images()
    expected = {"pillow": PIL.__version__, "files": {}}
    for name in names:
        with Image.open(os.path.join(IMAGES, name)) as f:
            rgb = f.convert("RGB")
        with Image.open(os.path.join(IMAGES, name)) as f:
            upright = ImageOps.exif_transpose(f).convert("RGB")
        entry = {"width": rgb.width, "height": rgb.height, "rgb": digest(rgb),
                 "first_pixel": list(rgb.getpixel((0, 0))),
                 "upright": {"width": upright.width, "height": upright.height, "rgb": digest(upright)},
                 "cases": {}}
        for case, transform in CASES.items():
            out = transform(rgb)
            entry["cases"][case] = {"width": out.width, "height": out.height, "rgb": digest(out)}
        expected["files"][name] = entry
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")
    write_features()


def write_features():
    try:
        import torch
        import transformers
        from transformers import Dinov2Model
    except ImportError as error:
        print(f"warning: no feature references ({error})", file=sys.stderr)
        return
    model_dir = os.path.join(HERE, "..", "..", "VitreousModelTests", "Fixtures", "tiny", "hf")
    model = Dinov2Model.from_pretrained(model_dir, attn_implementation="eager").eval()
    folder = os.path.join(HERE, "features")
    os.makedirs(folder, exist_ok=True)
    meta = {"torch": torch.__version__, "transformers": transformers.__version__, "model": "VitreousModelTests/Fixtures/tiny/hf", "files": []}
    for name in ["photo-baseline.jpg", "wide.jpg"]:
        with Image.open(os.path.join(IMAGES, name)) as f:
            pixels = tensor(CASES["torchvision224"](f.convert("RGB")))
        with torch.no_grad():
            hidden = model(pixel_values=torch.from_numpy(pixels)).last_hidden_state[0].numpy().astype(np.float32)
        np.save(os.path.join(folder, name + ".npy"), hidden)
        meta["files"].append(name)
    with open(os.path.join(folder, "provenance.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
