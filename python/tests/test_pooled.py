"""Pooled per-layer features (``pooling=``) against numpy on the hidden states of the same call (≤ 1e-6)."""

from __future__ import annotations

import numpy as np
import pytest

import vitreous
from conftest import max_error


def test_pooled_layers_match_numpy(tiny):
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, size=(3, 56, 70, 3), dtype=np.uint8)
    features = tiny.encode(images, size=(56, 56), pooling="all")
    layers = list(range(tiny.depth + 1))
    assert features.pooled_layers == layers
    gh, gw = features.grid
    first = features.tokens.shape[1] - gh * gw - features.test_time_registers.shape[1]
    cls = np.stack([features.hidden_states[layer][:, 0] for layer in layers])
    mean = np.stack([features.hidden_states[layer][:, first:first + gh * gw].astype(np.float64).mean(axis=1)
                     for layer in layers])
    assert features.pooled["cls"].shape == (tiny.depth + 1, 3, tiny.hidden_size)
    assert np.array_equal(features.pooled["cls"], cls)
    assert max_error(features.pooled["mean-patch"], mean) <= 1e-6


def test_pooled_chosen_layers_and_bad_pooling(tiny):
    images = np.zeros((2, 56, 56, 3), dtype=np.uint8)
    features = tiny.encode(images, size=None, layers=[1, -1], pooling="mean-patch")
    assert features.pooled_layers == [1, tiny.depth]
    assert list(features.pooled) == ["mean-patch"]
    assert features.pooled["mean-patch"].shape == (2, 2, tiny.hidden_size)
    with pytest.raises(vitreous.InvalidArgumentError):
        tiny.encode(images, size=None, pooling="max")
