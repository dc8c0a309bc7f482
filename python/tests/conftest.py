"""Shared fixtures of the Python tests: the repository's seeded tiny models and images, the CLI, and the
encoders.

The library comes from VITREOUS_LIBRARY (Scripts/test-python.sh points it at the CMake build's
libvitreous.so) or from an installed package; the CLI from VITREOUS_CLI or the CMake build's bin/vitreous.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL_FIXTURES = ROOT / "Tests/VitreousModelTests/Fixtures"
IMAGE_FIXTURES = ROOT / "Tests/VitreousImageTests/Fixtures"
TINY = MODEL_FIXTURES / "tiny/hf"
TINY_REG4 = MODEL_FIXTURES / "tiny_reg4/hf"

sys.path.insert(0, str(ROOT / "python"))
import vitreous  # noqa: E402


def cli_path() -> Path:
    path = Path(os.environ.get("VITREOUS_CLI", ROOT / "build/bin/vitreous"))
    if not path.exists():
        pytest.fail(f"the vitreous CLI is not at {path}; build it with CMake or set VITREOUS_CLI")
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([str(cli_path()), *args], capture_output=True, text=True)
    assert result.returncode == 0, f"vitreous {' '.join(args)}: {result.stderr}"
    return result


def max_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """max |actual − expected| relative to the largest |expected| (at least 1): the bound the CLI and C API
    comparisons use (the same kernels; reductions may split differently across threads)."""
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    return float(np.abs(actual - expected).max() / max(1.0, float(np.abs(expected).max())))


def device_indices() -> list[int]:
    return [device.index for device in vitreous.devices()]


@pytest.fixture(scope="session", params=device_indices(), ids=lambda i: f"device{i}")
def device(request) -> int:
    """Every device present: the CPU and each OpenCL device (CI must have one)."""
    if os.environ.get("CI") == "true":
        assert len(vitreous.devices()) >= 2, "CI needs an OpenCL device (PoCL)"
    return request.param


@pytest.fixture(scope="session")
def tiny(device) -> "vitreous.Encoder":
    return vitreous.Encoder(TINY, device=device)


@pytest.fixture(scope="session")
def demo(device) -> "vitreous.Encoder":
    return vitreous.Encoder.demo(device=device)


def write_png(path: Path, pixels: np.ndarray) -> None:
    """A minimal RGB8 PNG writer (zlib + CRC), so the tests need no imaging library."""
    import struct
    import zlib
    height, width, _ = pixels.shape
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
                     + chunk(b"IEND", b""))


def random_images(folder: Path, count: int, seed: int, size: tuple[int, int] = (61, 83)) -> list[Path]:
    """`count` seeded random PNGs of varying content (smooth plus noise) in `folder`."""
    generator = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        height, width = size
        base = generator.integers(0, 256, size=(height // 8 + 1, width // 8 + 1, 3))
        smooth = np.kron(base, np.ones((8, 8, 1)))[:height, :width]
        noise = generator.integers(-20, 21, size=(height, width, 3))
        pixels = np.clip(smooth + noise, 0, 255).astype(np.uint8)
        path = folder / f"image-{index:03d}.png"
        write_png(path, pixels)
        paths.append(path)
    return paths
