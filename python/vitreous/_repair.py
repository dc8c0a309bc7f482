"""Artifact detection, register-neuron search and repair over the C API."""

from __future__ import annotations

import os
from ctypes import byref, c_int32, c_void_p
import numpy as np

from ._encoder import Encoder, Features, ImageInput, Size, _as_batch, _Handle, _Options
from ._native import InvalidArgumentError, check, lib

_METHODS = {"robust": 0, "absolute": 1, "mean_std": 2, "otsu": 3}


def _detector(method: str, threshold: float | None) -> tuple[int, float]:
    if method not in _METHODS:
        raise InvalidArgumentError(f"method {method!r}: use one of {', '.join(_METHODS)}")
    if method == "absolute" and threshold is None:
        raise InvalidArgumentError("method 'absolute' needs a threshold")
    return _METHODS[method], float(threshold) if threshold is not None else 0.0


def detect_artifacts(features: "Features", layer: int = -1, method: str = "robust",
                     threshold: float | None = None) -> np.ndarray:
    """Flags high-norm artifact patches: a bool array ``[B, gh, gw]``.

    ``features`` must come from ``encode(..., token_norms=True)``. ``layer``: 0 the embeddings, L the output of
    block L, -1 the last. ``method``: ``"robust"`` (the default: robust z-score of log norms above
    ``threshold`` or 3.5 and norm above twice the median), ``"absolute"`` (norm above ``threshold``, required),
    ``"mean_std"`` (above mean + ``threshold``·std, default 3) or ``"otsu"``.
    """
    code, parameter = _detector(method, threshold)
    handle = features.result_handle()
    b = features.tokens.shape[0]
    gh, gw = features.grid
    masks = np.zeros((b, gh, gw), dtype=np.uint8)
    count = c_int32()
    for image in range(b):
        check(lib.vitreous_detect_artifacts_image(handle, image, layer, code, parameter, masks[image].ctypes.data,
                                                  gh * gw, byref(count)))
    return masks.astype(bool)


class RegisterNeurons:
    """Test-time-register neurons: MLP units whose activations move into an extra token (``method="ttr"``).

    ``neurons`` lists ``(layer, unit)`` pairs, layer L meaning block L (1-based, as the CLI's ``--layers``).
    """

    def __init__(self, handle: c_void_p) -> None:
        self._handle = _Handle(handle, lib.vitreous_registers_free)
        count = c_int32()
        check(lib.vitreous_registers_get_neurons(handle, None, None, 0, byref(count)))
        layers = np.zeros(count.value, dtype=np.int32)
        units = np.zeros(count.value, dtype=np.int32)
        if count.value:
            check(lib.vitreous_registers_get_neurons(handle, layers.ctypes.data, units.ctypes.data, count.value,
                                                     byref(count)))
        self.neurons: list[tuple[int, int]] = list(zip(layers.tolist(), units.tolist()))

    @classmethod
    def load(cls, encoder: "Encoder", path: str | os.PathLike, force: bool = False) -> "RegisterNeurons":
        """Reads a ``neurons.json`` (from ``vitreous repair --find-neurons`` or :meth:`save`) for ``encoder``'s
        weights; one made for other weights raises :class:`~vitreous.InvalidArgumentError` unless ``force``."""
        handle = c_void_p()
        check(lib.vitreous_registers_load(encoder.handle(), os.fsencode(path), 1 if force else 0, byref(handle)))
        return cls(handle)

    def save(self, encoder: "Encoder", path: str | os.PathLike) -> None:
        """Writes these neurons as a ``neurons.json`` with ``encoder``'s weight fingerprint (atomically)."""
        check(lib.vitreous_registers_save(self.handle(), encoder.handle(), os.fsencode(path)))

    def handle(self) -> c_void_p:
        """The C registers handle."""
        return self._handle.get("the register neurons")

    def __repr__(self) -> str:
        return f"RegisterNeurons({self.neurons})"


def find_register_neurons(encoder: "Encoder", images: "ImageInput", size: "Size" = 224, detect_layer: int = 0,
                          top_layer: int = 0, top_k: int = 10, method: str = "robust",
                          threshold: float | None = None) -> RegisterNeurons:
    """Finds register neurons on uint8 images, as ``vitreous repair --find-neurons``.

    The ``top_k`` MLP units of blocks 1…``top_layer`` (default depth / 2) with the highest mean activation on
    the patches flagged at ``detect_layer`` (default: the last block) by the detector (see
    :func:`detect_artifacts`). Raises :class:`~vitreous.InvalidArgumentError` when no image has an artifact.
    """
    batch = _as_batch(images)
    if batch.dtype != np.uint8:
        raise InvalidArgumentError("find_register_neurons takes uint8 [B, H, W, 3] images")
    code, parameter = _detector(method, threshold)
    options = _Options(size, "torchvision", 0, [], None)
    handle = c_void_p()
    try:
        check(lib.vitreous_registers_find(encoder.handle(), batch.ctypes.data, batch.nbytes, batch.shape[0],
                                          batch.shape[2], batch.shape[1], options.handle, detect_layer, top_layer,
                                          top_k, code, parameter, byref(handle)))
    finally:
        options.close()
    return RegisterNeurons(handle)


def repair(encoder: "Encoder", images: "ImageInput", method: str = "inpaint", size: "Size" = 224,
           neurons: RegisterNeurons | None = None, detector: str = "robust",
           threshold: float | None = None) -> "Features":
    """Encodes ``images`` with their artifact tokens repaired, as ``vitreous repair --method``.

    ``"inpaint"``: patches flagged in either of the last two blocks are replaced by their unflagged
    neighbours' mean (``detector`` and ``threshold`` as in :func:`detect_artifacts`). ``"ttr"``: test-time
    registers (``neurons`` from :func:`find_register_neurons` or :meth:`RegisterNeurons.load`) take the
    artifacts, so the patches come out clean. Returns :class:`Features` with token norms.
    """
    if method == "ttr":
        if neurons is None:
            raise InvalidArgumentError("method 'ttr' needs neurons (find_register_neurons or RegisterNeurons.load)")
        return encoder.encode(images, size=size, token_norms=True, registers=neurons)
    if method != "inpaint":
        raise InvalidArgumentError(f"method {method!r}: use 'inpaint' or 'ttr'")
    code, parameter = _detector(detector, threshold)
    features = encoder.encode(images, size=size, token_norms=True)
    handle = features.result_handle()
    b = features.tokens.shape[0]
    gh, gw = features.grid
    d = features.tokens.shape[2]
    count = c_int32()
    for image in range(b):
        # Writes straight into the patch view of the tokens array (contiguous per image).
        target = features.patches[image]
        check(lib.vitreous_repair_inpaint_image(handle, image, code, parameter, target.ctypes.data, gh * gw * d,
                                                byref(count)))
    return features
