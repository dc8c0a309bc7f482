"""Every misuse raises a VitreousError subclass (or TypeError) with the C message, and never kills the interpreter."""

from __future__ import annotations

import numpy as np
import pytest

import vitreous
from conftest import IMAGE_FIXTURES, TINY


@pytest.fixture(scope="module")
def encoder():
    return vitreous.Encoder(TINY, device=0)


@pytest.mark.parametrize("images,error", [
    (None, TypeError),
    (np.zeros((56, 56, 3), dtype=np.float64), vitreous.InvalidArgumentError),
    (np.zeros((56, 56, 3), dtype=np.int32), vitreous.InvalidArgumentError),
    (np.zeros((56, 56), dtype=np.uint8), vitreous.InvalidArgumentError),
    (np.zeros((56, 56, 4), dtype=np.uint8), vitreous.InvalidArgumentError),
    (np.zeros((0, 56, 56, 3), dtype=np.uint8), vitreous.InvalidArgumentError),
    (np.zeros((1, 0, 56, 3), dtype=np.uint8), vitreous.InvalidArgumentError),
    (np.zeros((2, 4, 56, 56), dtype=np.float32), vitreous.InvalidArgumentError),
    ([], vitreous.InvalidArgumentError),
    ([np.zeros((56, 56, 3), np.uint8), np.zeros((28, 56, 3), np.uint8)], vitreous.InvalidArgumentError),
    ("missing.png", vitreous.VitreousIOError),
    (42, TypeError),
])
def test_bad_images(encoder, images, error):
    with pytest.raises(error):
        encoder.encode(images)


def test_messages_are_the_libraries(encoder):
    with pytest.raises(vitreous.InvalidArgumentError, match="vitreous_encode_batch_rgb8: .*multiple of the patch"):
        encoder.encode(np.zeros((50, 50, 3), np.uint8), size=None)
    with pytest.raises(vitreous.InvalidArgumentError, match="not a multiple of the patch size 14"):
        encoder.encode(np.zeros((56, 56, 3), np.uint8), size=100)
    with pytest.raises(vitreous.InvalidArgumentError, match="layer 9 does not exist"):
        encoder.encode(np.zeros((56, 56, 3), np.uint8), layers=[9])
    nan = np.zeros((1, 3, 56, 56), np.float32)
    nan[0, 1, 2, 3] = np.nan
    with pytest.raises(vitreous.InvalidArgumentError, match="not finite"):
        encoder.encode(nan, size=None)
    with pytest.raises(vitreous.InvalidArgumentError, match="size=None"):
        encoder.encode(np.zeros((1, 3, 56, 56), np.float32))
    for bad in ("big", (1, 2, 3), 3.5):
        with pytest.raises(vitreous.InvalidArgumentError):
            encoder.encode(np.zeros((56, 56, 3), np.uint8), size=bad)
    with pytest.raises(vitreous.InvalidArgumentError):
        encoder.encode(np.zeros((56, 56, 3), np.uint8), crop="floor")


def test_models_devices_files(tmp_path):
    with pytest.raises(vitreous.VitreousIOError, match="no such file"):
        vitreous.Encoder(tmp_path / "missing.safetensors")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(vitreous.ModelError, match="JSON file"):
        vitreous.Encoder(tmp_path / "config.json")
    with pytest.raises(vitreous.VitreousIOError, match="no model.safetensors"):
        vitreous.Encoder(tmp_path)
    with pytest.raises(TypeError):
        vitreous.Encoder(None)
    with pytest.raises(vitreous.UnknownDeviceError):
        vitreous.Encoder(TINY, device=99)
    with pytest.raises(vitreous.InvalidArgumentError):
        vitreous.Encoder(TINY, device="no such device")
    with pytest.raises(vitreous.VitreousIOError):
        vitreous.load_image(tmp_path / "missing.png")
    (tmp_path / "not.png").write_bytes(b"not an image at all")
    with pytest.raises(vitreous.ImageError, match="not a PNG, JPEG or WebP"):
        vitreous.load_image(tmp_path / "not.png")
    with pytest.raises(vitreous.ImageError):
        vitreous.load_image((IMAGE_FIXTURES / "images/small.png").read_bytes()[:100])
    with pytest.raises(vitreous.InvalidArgumentError):
        vitreous.load_image(b"")
    with pytest.raises(TypeError):
        vitreous.load_image(None)


def test_a_closed_encoder_raises():
    encoder = vitreous.Encoder(TINY, device=0)
    features = encoder.encode(np.zeros((56, 56, 3), np.uint8), token_norms=True)
    encoder.close()
    encoder.close()  # twice is fine
    with pytest.raises(vitreous.ClosedError):
        encoder.encode(np.zeros((56, 56, 3), np.uint8))
    with pytest.raises(vitreous.ClosedError):
        vitreous.find_register_neurons(encoder, np.zeros((56, 56, 3), np.uint8))
    # Features outlive their encoder.
    assert vitreous.detect_artifacts(features).shape == (1, 16, 16)
    assert isinstance(features.cls, np.ndarray)


def test_detection_and_repair_misuse(encoder):
    plain = encoder.encode(np.zeros((56, 56, 3), np.uint8))
    with pytest.raises(vitreous.InvalidArgumentError, match="no token norms"):
        vitreous.detect_artifacts(plain)
    normed = encoder.encode(np.zeros((56, 56, 3), np.uint8), token_norms=True)
    with pytest.raises(vitreous.InvalidArgumentError, match="does not exist"):
        vitreous.detect_artifacts(normed, layer=7)
    with pytest.raises(vitreous.InvalidArgumentError):
        vitreous.detect_artifacts(normed, method="absolute")
    with pytest.raises(vitreous.InvalidArgumentError):
        vitreous.detect_artifacts(normed, method="magic")
    with pytest.raises(vitreous.InvalidArgumentError):
        vitreous.repair(encoder, np.zeros((56, 56, 3), np.uint8), method="ttr")
    with pytest.raises(vitreous.InvalidArgumentError):
        vitreous.repair(encoder, np.zeros((56, 56, 3), np.uint8), method="erase")
    with pytest.raises(vitreous.InvalidArgumentError, match="no image has artifacts"):
        vitreous.find_register_neurons(encoder, np.zeros((56, 56, 3), np.uint8), method="absolute", threshold=1e30)
    with pytest.raises(vitreous.VitreousIOError):
        vitreous.RegisterNeurons.load(encoder, "missing.json")
    # Errors are the VitreousError hierarchy and carry the status number.
    try:
        encoder.encode(np.zeros((50, 50, 3), np.uint8), size=None)
    except vitreous.VitreousError as error:
        assert error.status == 1 and isinstance(error, ValueError)
