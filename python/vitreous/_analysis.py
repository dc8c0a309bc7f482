"""``vitreous.analyze``: the layer-by-layer analysis of ``vitreous analyze`` on images in memory, over the C API."""

from __future__ import annotations

import json
from ctypes import byref, c_int32, c_size_t, c_void_p, create_string_buffer
from typing import Iterable

import numpy as np

from ._encoder import Encoder, ImageInput, Size, _as_batch, _Handle, _Options
from ._native import InvalidArgumentError, check, lib

_POOLINGS = ("cls", "mean-patch")


def analyze(images: ImageInput, model: Encoder, metrics: str | Iterable[str] | None = None,
            labels: Iterable[int] | np.ndarray | None = None, validation: Iterable[bool] | np.ndarray | None = None,
            masks: np.ndarray | None = None, k: int = 20, temperature: float = 0.07, cka_minibatch: int = 256,
            size: Size = 224, crop: str = "torchvision") -> dict:
    """Measures ``model`` layer by layer on ``images``, as ``vitreous analyze`` does on files.

    ``images``: uint8 ``[B, H, W, 3]`` RGB, a path, or a list of them of one size (resized by ``size`` and
    ``crop`` as :meth:`Encoder.encode` does). ``metrics``: names or a comma-separated string of
    ``attention-distance``, ``entropy``, ``cka``, ``frequency``, ``ncc``, ``knn``, ``segmentation`` (default: all
    the data allows: ``ncc`` and ``knn`` need ``labels``, ``segmentation`` ``masks``). ``labels``: ``B`` class
    indices 0, 1, …; ``validation``: ``B`` booleans, True for a held-out image (without it NCC is measured on the
    training images and k-NN leaves each image out). ``masks``: ground truth on the patch grid the images are
    encoded on, ``[B, gh, gw]`` (nonzero = foreground). ``k`` and ``temperature``: the weighted k-NN vote
    (DINO's 20 and 0.07); ``cka_minibatch``: images per minibatch of the unbiased CKA estimator (at least 4).

    Returns a dict of float64 NumPy arrays for the measures asked for (layer 0 = the embeddings, L = block
    L's output; NaN where undefined): ``attention_distance``, ``entropy`` and ``segmentation_jaccard``
    ``[blocks, heads]``; ``frequency`` ``[layers, steps]`` (relative log amplitude); ``cka`` ``{pooling:
    [layers, layers]}``; ``ncc``, ``knn_top1``, ``knn_top5`` ``{pooling: [layers]}`` with pooling ``"cls"`` or
    ``"mean-patch"``; and ``metadata`` (analysis.json's other keys) and ``json`` (the whole analysis.json text,
    the document ``vitreous analyze`` writes).
    """
    batch = _as_batch(images)
    if batch.dtype != np.uint8:
        raise InvalidArgumentError("analyze takes uint8 [B, H, W, 3] images (or paths), not normalised float32")
    count, height, width = batch.shape[0], batch.shape[1], batch.shape[2]
    label_array = _per_image(labels, count, np.int32, "labels")
    validation_array = _per_image(validation, count, np.uint8, "validation")
    mask_array = None
    if masks is not None:
        mask_array = np.ascontiguousarray(np.asarray(masks) != 0, dtype=np.uint8)
        if mask_array.ndim != 3 or mask_array.shape[0] != count:
            raise InvalidArgumentError(f"masks must be [B, gh, gw] with B = {count} images, not {list(mask_array.shape)}")
    if isinstance(metrics, str) or metrics is None:
        metric_text = metrics or ""
    else:
        metric_text = ",".join(metrics)
    for name, value, least in (("k", k, 1), ("cka_minibatch", cka_minibatch, 4)):
        if int(value) < least:
            raise InvalidArgumentError(f"{name} {value}; it must be at least {least}")
    if not temperature > 0:
        raise InvalidArgumentError(f"temperature {temperature}; it must be positive")
    options = _Options(size, crop, 0, [], None)
    handle = c_void_p()
    try:
        check(lib.vitreous_analyze_rgb8(
            model.handle(), batch.ctypes.data, batch.nbytes, count, width, height, options.handle,
            metric_text.encode(), _pointer(label_array), _pointer(validation_array), _pointer(mask_array),
            0 if mask_array is None else mask_array.size, int(k), float(temperature), int(cka_minibatch),
            byref(handle)))
    finally:
        options.close()
    analysis = _Handle(handle, lib.vitreous_analysis_free)
    try:
        return _report(analysis.get("the analysis"))
    finally:
        analysis.close()


def _per_image(values, count: int, dtype, name: str) -> np.ndarray | None:
    if values is None:
        return None
    array = np.ascontiguousarray(np.asarray(values), dtype=dtype)
    if array.shape != (count,):
        raise InvalidArgumentError(f"{name} must hold one value per image ({count}), not shape {list(array.shape)}")
    return array


def _pointer(array: np.ndarray | None):
    return None if array is None else array.ctypes.data


def _values(handle: c_void_p, name: str) -> np.ndarray:
    rows, columns = c_int32(), c_int32()
    check(lib.vitreous_analysis_values(handle, name.encode(), None, 0, byref(rows), byref(columns)))
    values = np.empty((rows.value, columns.value), dtype=np.float64)
    check(lib.vitreous_analysis_values(handle, name.encode(), values.ctypes.data, values.size, byref(rows),
                                       byref(columns)))
    return values


def _report(handle: c_void_p) -> dict:
    needed = c_size_t()
    check(lib.vitreous_analysis_json(handle, None, 0, byref(needed)))
    buffer = create_string_buffer(needed.value)
    check(lib.vitreous_analysis_json(handle, buffer, needed.value, byref(needed)))
    text = buffer.value.decode()
    document = json.loads(text)
    results = document.pop("results")
    report: dict = {}
    for key, name in (("attention_distance", "attention-distance"), ("entropy", "entropy"),
                      ("segmentation_jaccard", "segmentation"), ("frequency", "frequency")):
        if name in results:
            report[key] = _values(handle, name)
    if "cka" in results:
        report["cka"] = {pooling: _values(handle, f"cka-{pooling}") for pooling in _POOLINGS}
    if "classification" in results:
        accuracy = results["classification"]["cls"]
        for key, name in (("ncc", "ncc"), ("knn_top1", "knn-top1"), ("knn_top5", "knn-top5")):
            if accuracy.get(key) is not None:
                report[key] = {pooling: _values(handle, f"{name}-{pooling}")[:, 0] for pooling in _POOLINGS}
    report["metadata"] = document
    report["json"] = text
    return report
