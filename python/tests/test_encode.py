"""Outputs against PyTorch + transformers (the committed fixtures, ≤ 1e-4), the C API and the CLI (≤ 1e-6)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

import vitreous
from conftest import IMAGE_FIXTURES, MODEL_FIXTURES, TINY, max_error, random_images, run_cli


def test_devices_and_version():
    found = vitreous.devices()
    assert found[0] == vitreous.Device(0, "cpu")
    assert [d.index for d in found] == list(range(len(found)))
    assert vitreous.__version__ == "0.1.0"


@pytest.mark.parametrize("case", ["tiny56", "tiny84x112"])
def test_normalised_input_matches_transformers(tiny, case):
    inputs = np.load(MODEL_FIXTURES / f"inputs/{case}.npy")
    reference = MODEL_FIXTURES / "tiny" / case
    features = tiny.encode(inputs, size=None, layers="all", token_norms=True, cls_attention=True)
    last = np.load(reference / "last_hidden_state.npy")
    hidden = np.load(reference / "hidden_states.npy")
    norms = np.load(reference / "token_norms.npy")
    attention = np.load(reference / "attn_last.npy")
    assert features.tokens.shape == last.shape
    assert np.abs(features.tokens - last).max() <= 1e-4
    for layer in range(hidden.shape[0]):
        assert np.abs(features.hidden_states[layer] - hidden[layer]).max() <= 1e-4, layer
    assert np.abs(features.token_norms - norms).max() <= 1e-4
    assert np.abs(features.cls_attention - attention[:, :, 0, :]).max() <= 1e-5
    # cls and patches are views of the tokens, no copies.
    assert np.shares_memory(features.cls, features.tokens)
    assert np.shares_memory(features.patches, features.tokens)
    b, t, d = last.shape
    gh, gw = inputs.shape[2] // 14, inputs.shape[3] // 14
    assert features.patches.shape == (b, gh, gw, d)
    assert np.array_equal(features.patches.reshape(b, gh * gw, d), last[:, 1:] * 0 + features.tokens[:, 1:])
    assert features.registers.shape == (b, 0, d)


def test_files_through_the_centre_crop_match_transformers(tiny):
    meta = json.loads((IMAGE_FIXTURES / "features/provenance.json").read_text())
    for name in meta["files"]:
        features = tiny.encode(vitreous.load_image(IMAGE_FIXTURES / "images" / name))
        reference = np.load(IMAGE_FIXTURES / f"features/{name}.npy")
        assert np.abs(features.tokens[0] - reference).max() <= 1e-4, name


def test_registers_model_layout(device):
    with vitreous.Encoder(MODEL_FIXTURES / "tiny_reg4/hf", device=device) as encoder:
        inputs = np.load(MODEL_FIXTURES / "inputs/tiny56.npy")
        features = encoder.encode(inputs, size=None)
        last = np.load(MODEL_FIXTURES / "tiny_reg4/tiny56/last_hidden_state.npy")
        assert np.abs(features.tokens - last).max() <= 1e-4
        assert features.registers.shape == (2, 4, 64) and features.patches.shape == (2, 4, 4, 64)
        assert np.array_equal(features.registers, last[:, 1:5] * 0 + features.tokens[:, 1:5])


@pytest.mark.parametrize("size,cli_size", [(224, "224"), ("auto", "auto"), ((112, 140), "140x112")])
def test_matches_the_cli(tiny, device, tmp_path, size, cli_size):
    paths = random_images(tmp_path / "images", 3, seed=5)
    paths.append(IMAGE_FIXTURES / "images/wide.jpg")
    out = tmp_path / "out"
    run_cli("encode", "--model", str(TINY), "--device", "cpu" if device == 0 else f"opencl:{device - 1}",
            "--size", cli_size, "--layers", "0,2", "--format", "npy", "--out", str(out), *map(str, paths))
    for path in paths:
        features = tiny.encode(vitreous.load_image(path), size=size, layers=[0, 2], token_norms=True)
        folder = out / path.stem
        assert max_error(features.cls[0], np.load(folder / "cls.npy")) <= 1e-6
        assert max_error(features.patches[0], np.load(folder / "patches.npy")) <= 1e-6
        for layer in (0, 2):
            assert max_error(features.hidden_states[layer][0], np.load(folder / f"hidden.{layer}.npy")) <= 1e-6
            assert max_error(features.token_norms[layer][0], np.load(folder / f"norms.{layer}.npy")) <= 1e-6


def test_batch_equals_singles_and_uint8_inputs(tiny, tmp_path):
    images = np.stack([vitreous.load_image(p) for p in random_images(tmp_path, 4, seed=9)])
    batch = tiny.encode(images, size=(56, 84))
    for index in range(4):
        single = tiny.encode(images[index], size=(56, 84))
        # A batch is blocked differently from one image: float32 rounding apart.
        assert max_error(batch.tokens[index], single.tokens[0]) <= 1e-5
    # A list of arrays, a list of paths and a non-contiguous view give the same features.
    listed = tiny.encode(list(images), size=(56, 84))
    assert np.array_equal(listed.tokens, batch.tokens)
    flipped = np.ascontiguousarray(images[:, :, ::-1])[:, :, ::-1]
    assert np.array_equal(tiny.encode(flipped, size=(56, 84)).tokens, batch.tokens)


def test_load_image_matches_memory_and_exif():
    path = IMAGE_FIXTURES / "images/photo-exif6.jpg"
    pixels = vitreous.load_image(path)
    assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3
    assert np.array_equal(vitreous.load_image(path.read_bytes()), pixels)
    rotated = vitreous.load_image(path, exif_orientation=True)
    assert rotated.shape == (pixels.shape[1], pixels.shape[0], 3)
    # Pillow's pixels (SHA-256 of Image.open(f).convert("RGB") and of ImageOps.exif_transpose, see PROVENANCE.md).
    expected = json.loads((IMAGE_FIXTURES / "expected.json").read_text())["files"]["photo-exif6.jpg"]
    assert hashlib.sha256(pixels.tobytes()).hexdigest() == expected["rgb"]
    assert hashlib.sha256(rotated.tobytes()).hexdigest() == expected["upright"]["rgb"]


def test_equals_the_c_api_called_directly(demo):
    """The binding against a hand-written ctypes call of the single-image entry point (VITREOUS_ENCODE_RESIZE)."""
    import ctypes
    from vitreous import _native
    lib = _native.lib
    lib.vitreous_encode_rgb8.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int32,
                                         ctypes.c_int32, ctypes.c_size_t, ctypes.c_uint32, ctypes.POINTER(ctypes.c_void_p)]
    lib.vitreous_result_patches.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    image = np.ascontiguousarray(vitreous.demo_image()[:200, :150])
    result = ctypes.c_void_p()
    _native.check(lib.vitreous_encode_rgb8(demo.handle(), image.ctypes.data, image.nbytes, 150, 200, 0, 4,
                                           ctypes.byref(result)))
    try:
        patches = np.empty((14, 11, 64), np.float32)
        _native.check(lib.vitreous_result_patches(result, patches.ctypes.data, patches.size))
    finally:
        lib.vitreous_result_free(result)
    features = demo.encode(image, size="auto")
    assert features.patches.shape == (1, 14, 11, 64)
    assert max_error(features.patches[0], patches) <= 1e-6
