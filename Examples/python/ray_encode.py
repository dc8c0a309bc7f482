#!/usr/bin/env python3
"""Encode many images with Vitreous across a Ray cluster and write one Parquet dataset.

Each Ray worker holds one `vitreous.Encoder` (a stateful callable class in `map_batches`); batches of file
paths (or of images from `ray.data.read_images`) flow to the workers, and each row comes out as
(path, cls, mean_patch). Runs on a laptop (`--num-cpus 2` starts a local Ray) or on a cluster (`--address auto`
inside a Ray job; every node needs the `vitreous` package and the images at the same paths).

    python Examples/python/ray_encode.py --model dinov2-small/ --out features.parquet images/
    python Examples/python/ray_encode.py --model dinov2-small/ --out s3://bucket/features --read-images s3://bucket/images

The features equal `vitreous encode --size 224` on the same files (see python/tests/test_ray.py).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import ray

import vitreous

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}


class EncodeImages:
    """One encoder per Ray worker; each call encodes one batch of rows."""

    def __init__(self, model: str, size: int | str, device: str | None) -> None:
        self.encoder = vitreous.Encoder(model, device=device)
        self.size = size

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        paths = [str(p) for p in batch["path"]]
        images = batch["image"] if "image" in batch else [vitreous.load_image(p) for p in paths]
        cls = np.empty((len(paths), self.encoder.hidden_size), dtype=np.float32)
        mean_patch = np.empty_like(cls)
        # Images of one input size go through the encoder together; the resize makes them one output size.
        groups: dict[tuple[int, ...], list[int]] = {}
        for index, image in enumerate(images):
            groups.setdefault(np.asarray(image).shape, []).append(index)
        for indices in groups.values():
            features = self.encoder.encode(np.stack([np.asarray(images[i], dtype=np.uint8) for i in indices]),
                                           size=self.size)
            cls[indices] = features.cls
            mean_patch[indices] = features.patches.mean(axis=(1, 2))
        return {"path": np.array(paths, dtype=object), "cls": cls, "mean_patch": mean_patch}


def image_paths(sources: list[str]) -> list[str]:
    """Image files in the given folders (recursively) and files, and in `@list.txt` files (one path a line)."""
    found: list[str] = []
    for source in sources:
        if source.startswith("@"):
            found += [line.strip() for line in Path(source[1:]).read_text().splitlines() if line.strip()]
        elif os.path.isdir(source):
            found += sorted(str(p) for p in Path(source).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            found.append(source)
    if not found:
        raise SystemExit("ray_encode: no images found in " + " ".join(sources))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="+", help="image files, folders, or @file-list.txt")
    parser.add_argument("--model", required=True, help="a .safetensors checkpoint or a Hugging Face model folder")
    parser.add_argument("--out", required=True, help="the Parquet output folder (local path or a URI Ray writes)")
    parser.add_argument("--size", default="224", help="224 (centre crop, the default), another multiple of 14, or auto")
    parser.add_argument("--device", default=None, help="cpu, opencl, opencl:N (default: the library's choice)")
    parser.add_argument("--batch-size", type=int, default=16, help="rows per map_batches call")
    parser.add_argument("--concurrency", type=int, default=2, help="encoder workers (one Encoder each)")
    parser.add_argument("--num-cpus", type=int, default=None, help="CPUs of a local Ray (ignored with --address)")
    parser.add_argument("--address", default=None, help="a running Ray cluster ('auto' inside a Ray job)")
    parser.add_argument("--read-images", action="store_true",
                        help="decode with ray.data.read_images (needs Pillow) instead of vitreous.load_image")
    args = parser.parse_args()
    size: int | str = int(args.size) if args.size.isdigit() else args.size

    ray.init(address=args.address, num_cpus=None if args.address else args.num_cpus, include_dashboard=False,
             log_to_driver=False)
    if args.read_images:
        dataset = ray.data.read_images(args.sources, include_paths=True, mode="RGB")
    else:
        dataset = ray.data.from_items([{"path": path} for path in image_paths(args.sources)])
    # Each worker thread of the library uses the CPUs it is given; one CPU per worker keeps Ray's count honest.
    encoded = dataset.map_batches(EncodeImages, fn_constructor_kwargs={"model": args.model, "size": size,
                                                                       "device": args.device},
                                  batch_size=args.batch_size, concurrency=args.concurrency, num_cpus=1,
                                  batch_format="numpy")
    encoded.write_parquet(args.out)
    print(f"ray_encode: wrote {args.out}")


if __name__ == "__main__":
    main()
