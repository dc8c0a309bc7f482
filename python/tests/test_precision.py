"""bf16 encoders: against the transformers fixture (float32 PyTorch) within bf16's rounding, and misuse."""

from __future__ import annotations

import numpy as np
import pytest

import vitreous
from conftest import MODEL_FIXTURES, TINY


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.reshape(-1, a.shape[-1]).astype(np.float64), b.reshape(-1, b.shape[-1]).astype(np.float64)
    return (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)


def test_bf16_tokens_stay_close_to_transformers():
    inputs = np.load(MODEL_FIXTURES / "inputs/tiny56.npy")
    last = np.load(MODEL_FIXTURES / "tiny/tiny56/last_hidden_state.npy")
    with vitreous.Encoder(TINY, device="cpu", precision="bf16") as encoder:
        assert encoder.precision == "bf16"
        tokens = encoder.encode(inputs, size=None).tokens
    # Each operand rounds by up to 2^-9 relative: tokens within 2e-2 relative, every token's cosine >= 0.999.
    assert np.linalg.norm(tokens - last) / np.linalg.norm(last) <= 2e-2
    assert cosine(tokens, last).min() >= 0.999
    with vitreous.Encoder(TINY, device="cpu") as fp32:
        assert fp32.precision == "fp32"
        assert np.abs(fp32.encode(inputs, size=None).tokens - last).max() <= 1e-4


def test_demo_precision_and_misuse():
    auto = vitreous.Encoder.demo(device="cpu", precision="auto")
    assert auto.precision in ("bf16", "fp32")
    with pytest.raises(vitreous.InvalidArgumentError, match="precision"):
        vitreous.Encoder.demo(device="cpu", precision="int8")
    with pytest.raises(vitreous.InvalidArgumentError, match="fp16"):
        vitreous.Encoder.demo(device="cpu", precision="fp16")
