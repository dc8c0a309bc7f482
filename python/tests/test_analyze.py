"""``vitreous.analyze`` against numpy by formula on the pooled features ``encode(..., pooling=)`` returns for the
same images (linear CKA: Song et al.'s unbiased HSIC with one minibatch, ≤ 1e-4; NCC: Euclidean nearest class
mean, exact), against ``vitreous analyze``'s analysis.json for the same files (≤ 1e-6), and its bad input.

Attention distance is not checked by formula here: the Python API exposes only the last block's CLS
attention, not the full per-block maps it is computed from (the Swift suite checks it on the maps).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import vitreous
from conftest import TINY, max_error, random_images, run_cli

SIZE = 56


def unbiased_hsic(k: np.ndarray, l: np.ndarray) -> float:
    """Song et al. (2012): [tr(K̃L̃) + 1ᵀK̃1·1ᵀL̃1 / ((n−1)(n−2)) − 2/(n−2)·1ᵀK̃L̃1] / (n(n−3)), diagonals zeroed."""
    n = k.shape[0]
    k, l = k.copy(), l.copy()
    np.fill_diagonal(k, 0)
    np.fill_diagonal(l, 0)
    ones = np.ones(n)
    return float((np.trace(k @ l) + ones @ k @ ones * (ones @ l @ ones) / ((n - 1) * (n - 2))
                  - 2 / (n - 2) * ones @ k @ l @ ones) / (n * (n - 3)))


def linear_cka(features: np.ndarray) -> np.ndarray:
    """[layers, layers] CKA of features [layers, n, D] with linear kernels (NaN where a self-HSIC is 0)."""
    grams = [f.astype(np.float64) @ f.astype(np.float64).T for f in features]
    layers = len(grams)
    out = np.full((layers, layers), np.nan)
    for a in range(layers):
        for b in range(layers):
            denominator = np.sqrt(unbiased_hsic(grams[a], grams[a]) * unbiased_hsic(grams[b], grams[b]))
            if denominator > 1e-9 * max(1.0, float(np.abs(grams[a]).max() * np.abs(grams[b]).max())):
                out[a, b] = unbiased_hsic(grams[a], grams[b]) / denominator
    return out


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> tuple[list, np.ndarray, np.ndarray]:
    """Eight 56×56 PNGs in two class folders (a: 0–3, b: 4–7), their pixels and labels."""
    folder = tmp_path_factory.mktemp("analyze")
    paths = random_images(folder / "classes/a", 4, seed=1, size=(SIZE, SIZE)) \
        + random_images(folder / "classes/b", 4, seed=2, size=(SIZE, SIZE))
    pixels = np.stack([vitreous.load_image(path) for path in paths])
    return paths, pixels, np.array([0] * 4 + [1] * 4, dtype=np.int32)


def test_cka_matches_the_unbiased_hsic_formula(tiny, images):
    _, pixels, _ = images
    report = vitreous.analyze(pixels, model=tiny, metrics="cka", cka_minibatch=8, size=SIZE)
    features = tiny.encode(pixels, size=SIZE, pooling="all")
    for pooling in ("cls", "mean-patch"):
        expected = linear_cka(features.pooled[pooling])
        actual = report["cka"][pooling]
        assert actual.shape == (tiny.depth + 1, tiny.depth + 1)
        # Layer 0's CLS token is the same for every image: its CKA is undefined (numpy: NaN), and what the
        # library reports there depends on float32 rounding, so only the defined entries are compared.
        defined = ~np.isnan(expected)
        assert defined.sum() >= tiny.depth ** 2, pooling
        assert np.abs(actual[defined] - expected[defined]).max() <= 1e-4, pooling
    assert set(report) == {"cka", "metadata", "json"}
    assert report["metadata"]["options"]["cka_minibatch"] == 8


def test_ncc_matches_numpy(tiny, images):
    _, pixels, labels = images
    validation = np.array([False, False, True, True, False, False, True, True])
    report = vitreous.analyze(pixels, model=tiny, metrics=["ncc"], labels=labels, validation=validation, size=SIZE)
    features = tiny.encode(pixels, size=SIZE, pooling="all")
    for pooling in ("cls", "mean-patch"):
        expected = []
        for layer in features.pooled[pooling].astype(np.float64):
            train, query = layer[~validation], layer[validation]
            centres = np.stack([train[labels[~validation] == c].mean(axis=0) for c in (0, 1)])
            predicted = np.argmin(((query[:, None] - centres[None]) ** 2).sum(axis=2), axis=1)
            expected.append(np.mean(predicted == labels[validation]))
        assert np.array_equal(report["ncc"][pooling], np.array(expected)), pooling


def test_equals_the_cli_analysis_json(tiny, device, images, tmp_path):
    if device != 0:
        pytest.skip("the CLI comparison runs on the CPU backend")
    paths, pixels, labels = images
    out = tmp_path / "out"
    run_cli("analyze", str(paths[0].parents[1]), "--model", str(TINY), "--device", "cpu", "--size", str(SIZE),
            "--metrics", "attention-distance,entropy,cka,frequency,ncc,knn", "--k", "3", "--cka-minibatch", "8",
            "--out", str(out), "--batch", "8")
    cli = json.loads((out / "analysis.json").read_text())["results"]
    report = vitreous.analyze(pixels, model=tiny, labels=labels, k=3, cka_minibatch=8, size=SIZE)
    ours = json.loads(report["json"])["results"]
    assert set(ours) == set(cli)

    def numbers(value):
        return np.array(value, dtype=np.float64)  # null → NaN

    for key in ("attention-distance", "entropy"):
        assert max_error(numbers(ours[key]["per_block_per_head"]), numbers(cli[key]["per_block_per_head"])) <= 1e-6
        assert max_error(report[key.replace("-", "_")], numbers(cli[key]["per_block_per_head"])) <= 1e-6
    assert max_error(report["frequency"], numbers(cli["frequency"]["relative_log_amplitude_per_layer"])) <= 1e-6
    for pooling in ("cls", "mean-patch"):
        expected = numbers(cli["cka"][pooling])
        assert np.array_equal(np.isnan(report["cka"][pooling]), np.isnan(expected))
        assert max_error(np.nan_to_num(report["cka"][pooling]), np.nan_to_num(expected)) <= 1e-6
        for key in ("ncc", "knn_top1", "knn_top5"):
            assert np.array_equal(report[key][pooling], numbers(cli["classification"][pooling][key])), (key, pooling)


def test_bad_input_is_one_clear_error(tiny, images):
    _, pixels, labels = images
    lonely = np.array([0] * 7 + [1], dtype=np.int32)
    with pytest.raises(vitreous.InvalidArgumentError, match="class 1 has 1 training image"):
        vitreous.analyze(pixels, model=tiny, metrics="ncc", labels=lonely, size=SIZE)
    with pytest.raises(vitreous.InvalidArgumentError, match="k 8 is larger than the 7 training images"):
        vitreous.analyze(pixels, model=tiny, metrics="knn", labels=labels, k=8, size=SIZE)
    grid = SIZE // tiny.patch_size
    with pytest.raises(vitreous.InvalidArgumentError, match="patch grid"):
        vitreous.analyze(pixels, model=tiny, metrics="segmentation", masks=np.ones((8, grid, grid + 1)), size=SIZE)
    with pytest.raises(vitreous.InvalidArgumentError, match="unknown measure 'colour'"):
        vitreous.analyze(pixels, model=tiny, metrics="cka,colour", size=SIZE)
    with pytest.raises(vitreous.InvalidArgumentError, match="one value per image"):
        vitreous.analyze(pixels, model=tiny, metrics="ncc", labels=labels[:5], size=SIZE)


def test_segmentation_with_patch_masks(tiny, images):
    _, pixels, _ = images
    grid = SIZE // tiny.patch_size
    masks = np.zeros((8, grid, grid), dtype=bool)
    masks[:, :, : grid // 2] = True
    report = vitreous.analyze(pixels, model=tiny, metrics="segmentation", masks=masks, size=SIZE)
    jaccard = report["segmentation_jaccard"]
    assert jaccard.shape == (tiny.depth, tiny.heads)
    assert np.all((jaccard >= 0) & (jaccard <= 1))
