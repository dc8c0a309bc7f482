#!/usr/bin/env python3
"""The Python binding's cost per call against the encoder pass it wraps: ViT-S/14, 224 px, batch 8.

Seeded random ViT-S weights (Benchmarks/peers/onnx_vit.py's generator, original DINOv2 key layout) are written
to a temporary safetensors file and loaded with ``vitreous.Encoder``. Every C function the binding calls is
timed from Python through a proxy of the ctypes library, so each ``Encoder.encode`` splits into
  encode  the C encode call (preprocessing + the forward pass, in the library),
  read    the C calls that copy the result into NumPy arrays and free it,
  python  everything else: argument checks, the options handle, building the Features (the binding itself).
Medians over --runs calls after --warmup. Usage (Scripts/test-python.sh's venv, a CMake build's library):
  VITREOUS_LIBRARY=build/lib/libvitreous.so .venv-python/bin/python Benchmarks/python/overhead.py --device cpu
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "python"))
sys.path.insert(0, str(REPO / "Benchmarks/peers"))
import vitreous  # noqa: E402
from vitreous import _encoder  # noqa: E402
from onnx_vit import random_weights, write_safetensors  # noqa: E402


class TimedLibrary:
    """Passes every attribute to the ctypes library; its functions are wrapped to add their time to a bucket."""

    def __init__(self, library) -> None:
        self._library = library
        self.seconds = {"encode": 0.0, "read": 0.0}

    def __getattr__(self, name: str):
        function = getattr(self._library, name)
        bucket = "encode" if name.startswith("vitreous_encode") else "read" if name.startswith("vitreous_result") else None
        if bucket is None:
            return function

        def timed(*args):
            start = time.perf_counter()
            try:
                return function(*args)
            finally:
                self.seconds[bucket] += time.perf_counter() - start
        return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--input", choices=["uint8", "float32"], default="uint8",
                        help="uint8 [8, 224, 224, 3] (preprocessed in the library) or normalised float32 [8, 3, 224, 224]")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "vit-s-seed0.safetensors"
        write_safetensors(path, random_weights("vit-s", 0))
        encoder = vitreous.Encoder(path, device=args.device)
    rng = np.random.default_rng(0)
    if args.input == "uint8":
        batch = rng.integers(0, 256, size=(8, 224, 224, 3), dtype=np.uint8)
    else:
        batch = rng.standard_normal((8, 3, 224, 224), dtype=np.float32)
    timed = TimedLibrary(_encoder.lib)
    _encoder.lib = timed
    rows = []
    for run in range(args.warmup + args.runs):
        timed.seconds = {"encode": 0.0, "read": 0.0}
        start = time.perf_counter()
        features = encoder.encode(batch, size=None)
        total = time.perf_counter() - start
        assert features.patches.shape == (8, 16, 16, 384)
        if run >= args.warmup:
            rows.append((total, timed.seconds["encode"], timed.seconds["read"]))
    total, encode, read = (statistics.median(column) for column in zip(*rows))
    python = statistics.median(t - e - r for t, e, r in rows)
    print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, device {encoder.device_index} "
          f"({vitreous.devices()[encoder.device_index].name}), input {args.input}, {args.runs} runs")
    print(f"encode call (C): {encode * 1e3:9.2f} ms")
    print(f"result reads (C copies into NumPy + free): {read * 1e3:9.3f} ms  ({read / encode * 100:.3f} % of the pass)")
    print(f"binding in Python: {python * 1e3:9.3f} ms  ({python / encode * 100:.3f} % of the pass)")
    print(f"Encoder.encode total: {total * 1e3:9.2f} ms; binding + reads {(total - encode) / encode * 100:.3f} % of the pass")


if __name__ == "__main__":
    main()
