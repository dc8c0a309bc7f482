"""Examples/python/ray_encode.py on a local Ray (two CPUs) over 64 images: every image's features equal the CLI's."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, TINY, max_error, random_images, run_cli

ray = pytest.importorskip("ray")
pq = pytest.importorskip("pyarrow.parquet")


def test_ray_encode_matches_the_cli(tmp_path):
    paths = random_images(tmp_path / "images", 64, seed=64, size=(70, 90))
    out = tmp_path / "features"
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "python"), os.environ.get("PYTHONPATH", "")]),
                       RAY_USAGE_STATS_ENABLED="0", VITREOUS_DEVICE="cpu")
    run = subprocess.run([sys.executable, str(ROOT / "Examples/python/ray_encode.py"), "--model", str(TINY),
                          "--out", str(out), "--num-cpus", "2", "--concurrency", "2", "--batch-size", "16",
                          "--device", "cpu", str(tmp_path / "images")],
                         capture_output=True, text=True, env=environment, timeout=600)
    assert run.returncode == 0, run.stderr[-4000:]
    table = pq.read_table(out)
    rows = {path: (cls, mean) for path, cls, mean in zip(table["path"].to_pylist(), table["cls"].to_pylist(),
                                                         table["mean_patch"].to_pylist())}
    assert sorted(rows) == sorted(str(p) for p in paths)

    cli = tmp_path / "cli"
    run_cli("encode", "--model", str(TINY), "--device", "cpu", "--format", "npy", "--batch", "16", "--out", str(cli),
            str(tmp_path / "images"))
    for path in paths:
        cls, mean = (np.asarray(v, dtype=np.float32).reshape(-1) for v in rows[str(path)])
        expected_cls = np.load(cli / path.stem / "cls.npy")
        expected_mean = np.load(cli / path.stem / "patches.npy").mean(axis=(0, 1))
        assert max_error(cls, expected_cls) <= 1e-6, path.name
        assert max_error(mean, expected_mean) <= 1e-6, path.name
