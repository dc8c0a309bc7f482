"""Detection, register-neuron search and repair on the demo model's planted artifacts, against the C API's
own numbers through the CLI's demo."""

from __future__ import annotations

import numpy as np
import pytest

import vitreous


@pytest.fixture(scope="module")
def image():
    return vitreous.demo_image()


def test_detection_finds_the_four_planted_artifacts(demo, image):
    features = demo.encode(image, size=None, token_norms=True, cls_attention=True)
    mask = vitreous.detect_artifacts(features)
    assert mask.shape == (1, 16, 16) and mask.dtype == bool
    assert mask.sum() == 4
    norms = features.token_norms[-1, 0, 1:].reshape(16, 16)
    assert norms[mask[0]].min() > 2 * np.median(norms)
    absolute = vitreous.detect_artifacts(features, method="absolute", threshold=float(np.median(norms) * 2))
    assert np.array_equal(absolute[0], norms > np.median(norms) * 2)
    # Two images in one batch: each detected on its own.
    batch = demo.encode(np.stack([image, np.full_like(image, 128)]), size=None, token_norms=True)
    masks = vitreous.detect_artifacts(batch)
    assert np.array_equal(masks[0], mask[0]) and masks.shape == (2, 16, 16)


def test_register_neurons_and_ttr(demo, image, tmp_path):
    neurons = vitreous.find_register_neurons(demo, image, size=None, top_k=1)
    assert neurons.neurons == [(3, 7)]  # the planted unit 7 of block 2 (0-based), block 3 as --layers counts
    path = tmp_path / "neurons.json"
    neurons.save(demo, path)
    loaded = vitreous.RegisterNeurons.load(demo, path)
    assert loaded.neurons == neurons.neurons
    repaired = vitreous.repair(demo, image, method="ttr", size=None, neurons=loaded)
    assert repaired.test_time_registers.shape == (1, 1, 64)
    assert not vitreous.detect_artifacts(repaired).any()
    plain = demo.encode(image, size=None)
    assert repaired.patches.shape == plain.patches.shape


def test_inpaint_changes_only_the_flagged_patches(demo, image):
    plain = demo.encode(image, size=None, token_norms=True)
    repaired = vitreous.repair(demo, image, method="inpaint", size=None)
    changed = np.abs(repaired.patches - plain.patches).max(axis=-1)[0] > 0
    # Inpainting replaces what either of the last two blocks flags.
    flagged = (vitreous.detect_artifacts(plain)[0] | vitreous.detect_artifacts(plain, layer=demo.depth - 1)[0])
    assert changed.any() and not changed[~flagged].any()
    assert np.array_equal(repaired.cls, plain.cls)
