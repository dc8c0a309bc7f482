"""Encoder, Features, devices and image loading over the C API."""

from __future__ import annotations

import os
import threading
from ctypes import byref, c_int32, c_void_p, create_string_buffer
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Sequence, Union

import numpy as np

from ._native import ClosedError, InvalidArgumentError, check, lib

if TYPE_CHECKING:  # only a type in Encoder.encode's signature: _repair imports this module, not the other way
    from ._repair import RegisterNeurons

Size = Union[int, str, tuple[int, int], None]
ImageInput = Union[np.ndarray, str, os.PathLike, Sequence[Union[np.ndarray, str, os.PathLike]]]

_RESIZE_NONE, _RESIZE_CENTER_CROP, _RESIZE_CENTER_CROP_FLOOR, _RESIZE_AUTO, _RESIZE_EXACT = range(5)
_TOKEN_NORMS, _CLS_ATTENTION = 1, 2
_LAYOUT_HWC_RGB, _LAYOUT_CHW_NORMALISED = 0, 1


@dataclass(frozen=True)
class Device:
    """One device: ``index`` 0 is the CPU backend, 1 … are the OpenCL devices."""

    index: int
    name: str


def devices() -> list[Device]:
    """Every device Vitreous can run on, the CPU first."""
    count = c_int32()
    check(lib.vitreous_device_count(byref(count)))
    found = []
    buffer = create_string_buffer(256)
    for index in range(count.value):
        check(lib.vitreous_device_name(index, buffer, 256))
        found.append(Device(index, buffer.value.decode()))
    return found


def _device_index(device: int | str | Device | None) -> int:
    if device is None:
        return -1
    if isinstance(device, Device):
        return device.index
    if isinstance(device, (int, np.integer)) and not isinstance(device, bool):
        return int(device)
    if isinstance(device, str):
        text = device.strip().lower()
        if text == "cpu":
            return 0
        if text == "opencl":
            count = len(devices())
            if count < 2:
                raise InvalidArgumentError(f"device {device!r}: no OpenCL device is present")
            return 1
        if text.startswith("opencl:") and text[7:].isdigit():
            return int(text[7:]) + 1
        for candidate in devices():
            if text in candidate.name.lower():
                return candidate.index
        raise InvalidArgumentError(f"device {device!r}: use None, an index, 'cpu', 'opencl', 'opencl:N' or part of "
                                   f"a name from vitreous.devices()")
    raise TypeError(f"device must be None, an int, a str or a Device, not {type(device).__name__}")


def load_image(source: str | os.PathLike | bytes | bytearray | memoryview, *, exif_orientation: bool = False
               ) -> np.ndarray:
    """Decodes a PNG, JPEG or WebP file (a path, or its bytes) as the ``vitreous`` command does.

    Returns a ``uint8`` array ``[H, W, 3]``: Pillow's ``Image.open(f).convert("RGB")`` pixels. With
    ``exif_orientation`` the EXIF orientation tag is applied (off by default, as torchvision's loaders do).
    """
    handle = c_void_p()
    flags = 1 if exif_orientation else 0
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = np.frombuffer(source, dtype=np.uint8)
        if data.size == 0:
            raise InvalidArgumentError("load_image: the bytes are empty")
        check(lib.vitreous_image_decode(data.ctypes.data, data.size, flags, byref(handle)))
    else:
        if not isinstance(source, (str, os.PathLike)):
            raise TypeError(f"load_image takes a path or bytes, not {type(source).__name__}")
        check(lib.vitreous_image_load(os.fsencode(source), flags, byref(handle)))
    try:
        width, height = c_int32(), c_int32()
        check(lib.vitreous_image_get_size(handle, byref(width), byref(height)))
        pixels = np.empty((height.value, width.value, 3), dtype=np.uint8)
        check(lib.vitreous_image_pixels(handle, pixels.ctypes.data, pixels.size))
        return pixels
    finally:
        lib.vitreous_image_free(handle)


def demo_image() -> np.ndarray:
    """The ``vitreous demo`` image: 224×224 uint8 RGB, textured noise with four flat patches where the demo model
    (:meth:`Encoder.demo`) forms artifact tokens."""
    width, height = c_int32(), c_int32()
    check(lib.vitreous_demo_image_rgb8(None, 0, byref(width), byref(height)))
    pixels = np.empty((height.value, width.value, 3), dtype=np.uint8)
    check(lib.vitreous_demo_image_rgb8(pixels.ctypes.data, pixels.size, byref(width), byref(height)))
    return pixels


class _Handle:
    """Owns one C handle and frees it exactly once (on close or when collected)."""

    def __init__(self, handle: c_void_p, free) -> None:
        self._handle = handle
        self._free = free
        self._lock = threading.Lock()

    def get(self, what: str) -> c_void_p:
        handle = self._handle
        if handle is None:
            raise ClosedError(f"{what} is closed")
        return handle

    def close(self) -> None:
        with self._lock:
            handle, self._handle = self._handle, None
        if handle is not None:
            self._free(handle)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


@dataclass(eq=False)
class Features:
    """The encoder's output for a batch of ``B`` images.

    ``tokens`` ``[B, T, D]`` after the final layer norm (CLS, registers, patches, then test-time registers);
    ``cls`` ``[B, D]``, ``registers`` ``[B, R, D]``, ``patches`` ``[B, gh, gw, D]`` and
    ``test_time_registers`` ``[B, K, D]`` are views into it (no copies). ``hidden_states`` maps each layer asked
    for (0 the embeddings, L the output of block L) to ``[B, T, D]`` before the final norm; ``token_norms`` is
    ``[depth + 1, B, T]`` and ``cls_attention`` ``[B, heads, T]`` when asked for. ``pooled`` maps each pooling
    asked for (``"cls"``, ``"mean-patch"``) to ``[len(layers), B, D]``: the kept layers' hidden states pooled per
    image in the order of ``layers``, as ``vitreous analyze`` compares them; ``pooled_layers`` lists those layers.
    """

    tokens: np.ndarray
    cls: np.ndarray
    registers: np.ndarray
    patches: np.ndarray
    test_time_registers: np.ndarray
    hidden_states: dict[int, np.ndarray] = field(default_factory=dict)
    token_norms: np.ndarray | None = None
    cls_attention: np.ndarray | None = None
    pooled: dict[str, np.ndarray] = field(default_factory=dict)
    pooled_layers: list[int] = field(default_factory=list)
    _result: _Handle | None = field(default=None, repr=False, compare=False)

    @property
    def grid(self) -> tuple[int, int]:
        """The patch grid ``(gh, gw)``."""
        return self.patches.shape[1], self.patches.shape[2]

    def result_handle(self) -> c_void_p:
        """The C result behind these features (for detection and repair)."""
        if self._result is None:
            raise InvalidArgumentError("these features hold no C result")
        return self._result.get("the features' result")


def _resize(size: Size, crop: str) -> tuple[int, int, int]:
    if size is None:
        return _RESIZE_NONE, 0, 0
    if isinstance(size, str):
        if size.lower() == "auto":
            return _RESIZE_AUTO, 0, 0
        raise InvalidArgumentError(f"size {size!r}: use an int (centre crop), 'auto', (height, width) or None")
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        if crop not in ("torchvision", "transformers"):
            raise InvalidArgumentError(f"crop {crop!r}: use 'torchvision' or 'transformers'")
        return (_RESIZE_CENTER_CROP if crop == "torchvision" else _RESIZE_CENTER_CROP_FLOOR), int(size), 0
    if isinstance(size, tuple) and len(size) == 2 and all(isinstance(s, (int, np.integer)) for s in size):
        return _RESIZE_EXACT, int(size[1]), int(size[0])
    raise InvalidArgumentError(f"size {size!r}: use an int (centre crop), 'auto', (height, width) or None")


def _layers(layers: Iterable[int] | str | None, depth: int) -> list[int]:
    if layers is None:
        return []
    if isinstance(layers, str):
        if layers == "all":
            return list(range(depth + 1))
        raise InvalidArgumentError(f"layers {layers!r}: use a list of ints or 'all'")
    chosen = [int(layer) for layer in layers]
    return [depth + 1 + layer if layer < 0 else layer for layer in chosen]


def _as_batch(images: ImageInput) -> np.ndarray:
    """The images as one C-contiguous array: uint8 ``[B, H, W, 3]`` or float32 ``[B, 3, H, W]``."""
    if images is None:
        raise TypeError("images is None; pass a uint8 [H, W, 3] or [B, H, W, 3] array, float32 [B, 3, H, W], "
                        "a path or a list of them")
    if isinstance(images, (str, os.PathLike)):
        images = [images]
    if isinstance(images, (list, tuple)):
        if not images:
            raise InvalidArgumentError("the batch is empty")
        arrays = [load_image(item) if isinstance(item, (str, os.PathLike)) else np.asarray(item) for item in images]
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1:
            raise InvalidArgumentError(f"a batch needs images of one size; got {sorted(shapes)} (resizing happens "
                                       "inside encode: encode them one by one, or in groups of one size)")
        images = np.stack(arrays)
    if not isinstance(images, np.ndarray):
        raise TypeError(f"images must be a NumPy array, a path or a list, not {type(images).__name__}")
    if images.dtype == np.uint8:
        if images.ndim == 3:
            images = images[None]
        if images.ndim != 4 or images.shape[3] != 3:
            raise InvalidArgumentError(f"uint8 images must be [H, W, 3] or [B, H, W, 3], not {list(images.shape)}")
    elif images.dtype == np.float32:
        if images.ndim == 3:
            images = images[None]
        if images.ndim != 4 or images.shape[1] != 3:
            raise InvalidArgumentError(f"float32 images must be normalised [B, 3, H, W], not {list(images.shape)}")
    else:
        raise InvalidArgumentError(f"images must be uint8 [B, H, W, 3] or float32 [B, 3, H, W], not {images.dtype}")
    if images.shape[0] == 0:
        raise InvalidArgumentError("the batch is empty")
    if min(images.shape[1:3] if images.dtype == np.uint8 else images.shape[2:4]) == 0:
        raise InvalidArgumentError(f"images of shape {list(images.shape)} have no pixels")
    return np.ascontiguousarray(images)


_PRECISIONS = ("fp32", "bf16", "fp16", "auto")


def _precision_code(precision: str) -> int:
    """The C API's vitreous_precision code of a precision name."""
    if not isinstance(precision, str) or precision.lower() not in _PRECISIONS:
        raise InvalidArgumentError(f"precision {precision!r} is not one of {', '.join(_PRECISIONS)}")
    return _PRECISIONS.index(precision.lower())


class Encoder:
    """A DINOv2-family Vision Transformer on one device.

    ``Encoder(path)`` loads a ``.safetensors`` checkpoint (Hugging Face or original DINOv2 keys) or a Hugging
    Face model folder; ``device`` is None (the default device, ``VITREOUS_DEVICE`` overrides), an index from
    :func:`devices`, ``"cpu"``, ``"opencl"``, ``"opencl:N"`` or part of a device name. One encoder may be used
    from several threads at once; the GIL is released while it computes. Close it (or use ``with``) to free the
    weights early.

    ``precision`` is ``"fp32"`` (the default), ``"bf16"`` (CPU: weights rounded once to bfloat16, activations
    rounded as the GEMM reads them, float32 sums; fast with AVX512-BF16), ``"fp16"`` (OpenCL: weights stored as
    half) or ``"auto"`` (bf16 on a CPU with native bf16, else fp32); :attr:`precision` says which one runs.
    """

    def __init__(self, path_or_hf_folder: str | os.PathLike, device: int | str | Device | None = None, *,
                 precision: str = "fp32") -> None:
        if path_or_hf_folder is None:
            raise TypeError("Encoder needs a checkpoint path or a Hugging Face model folder, not None")
        handle = c_void_p()
        check(lib.vitreous_model_load_with_precision(os.fsencode(path_or_hf_folder), _device_index(device),
                                                     _precision_code(precision), byref(handle)))
        self._init(handle)

    @classmethod
    def demo(cls, device: int | str | Device | None = None, *, precision: str = "fp32") -> "Encoder":
        """The model of ``vitreous demo``: a small seeded ViT with a planted artifact mechanism (no files)."""
        handle = c_void_p()
        check(lib.vitreous_model_create_demo_with_precision(_device_index(device), _precision_code(precision),
                                                            byref(handle)))
        encoder = cls.__new__(cls)
        encoder._init(handle)
        return encoder

    @property
    def precision(self) -> str:
        """The precision the encoder computes in: ``"fp32"``, ``"bf16"`` or ``"fp16"``."""
        code = c_int32()
        check(lib.vitreous_model_get_precision(self.handle(), byref(code)))
        return _PRECISIONS[code.value]

    def _init(self, handle: c_void_p) -> None:
        self._model = _Handle(handle, lib.vitreous_model_free)
        info = (c_int32 * 8)()
        check(lib.vitreous_model_get_info(handle, byref(info)))
        (self.hidden_size, self.depth, self.heads, self.patch_size, self.register_count, self.mlp_hidden_size,
         self.native_image_size, self.device_index) = list(info)

    def close(self) -> None:
        """Frees the weights; later calls raise :class:`ClosedError`. Features already returned stay valid."""
        self._model.close()

    def __enter__(self) -> "Encoder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"Encoder(D={self.hidden_size}, depth={self.depth}, heads={self.heads}, patch={self.patch_size}, "
                f"registers={self.register_count}, device={self.device_index})")

    def handle(self) -> c_void_p:
        """The C model handle (raises :class:`ClosedError` after :meth:`close`)."""
        return self._model.get("the encoder")

    def encode(self, images: ImageInput, size: Size = 224, layers: Iterable[int] | str | None = None,
               token_norms: bool = False, cls_attention: bool = False, crop: str = "torchvision",
               registers: "RegisterNeurons | None" = None, pooling: str | Iterable[str] | None = None) -> Features:
        """Encodes a batch of images of one size.

        ``images``: uint8 ``[H, W, 3]`` or ``[B, H, W, 3]`` RGB (resized and normalised as the ``vitreous``
        command does), float32 ``[B, 3, H, W]`` already normalised with ImageNet mean/std (encoded at its size:
        ``size`` must then be None), a path, or a list of those. ``size``: an int N is DINOv2's evaluation
        transform (shorter side to N·256/224, centre N×N crop; the CLI's default 224), ``"auto"`` rounds each
        side to a multiple of the patch size, ``(h, w)`` resizes to exactly that, None uses the images as they
        are. ``crop``: the centre crop's rounding, ``"torchvision"`` or ``"transformers"``. ``layers``: hidden
        states to keep (0 = embeddings, L = output of block L, negative from the end, or ``"all"``).
        ``registers``: test-time registers from :func:`find_register_neurons` or :meth:`RegisterNeurons.load`.
        ``pooling``: ``"cls"``, ``"mean-patch"``, ``"all"`` or a list of them: fills ``Features.pooled`` with the
        ``layers`` (default ``"all"`` when pooling is given) pooled per image, ``[layers, B, D]``.
        """
        batch = _as_batch(images)
        model = self.handle()
        if batch.dtype == np.float32 and size is not None:
            raise InvalidArgumentError("float32 input is already normalised and is encoded at its size; pass size=None")
        poolings = _poolings(pooling)
        kept = _layers("all" if poolings and layers is None else layers, self.depth)
        options = _Options(size, crop, (_TOKEN_NORMS if token_norms else 0) | (_CLS_ATTENTION if cls_attention else 0),
                           kept, registers)
        result = c_void_p()
        try:
            if batch.dtype == np.uint8:
                count, height, width = batch.shape[0], batch.shape[1], batch.shape[2]
                check(lib.vitreous_encode_batch_rgb8(model, batch.ctypes.data, batch.nbytes, count, width, height,
                                                     options.handle, byref(result)))
            else:
                count, height, width = batch.shape[0], batch.shape[2], batch.shape[3]
                check(lib.vitreous_encode_batch_float(model, batch.ctypes.data, batch.size, count, width, height,
                                                      _LAYOUT_CHW_NORMALISED, options.handle, byref(result)))
        finally:
            options.close()
        return _features(_Handle(result, lib.vitreous_result_free), kept, poolings)


_POOLINGS = {"cls": 0, "mean-patch": 1}


def _poolings(pooling: str | Iterable[str] | None) -> list[str]:
    if pooling is None:
        return []
    chosen = list(_POOLINGS) if pooling == "all" else [pooling] if isinstance(pooling, str) else list(pooling)
    for name in chosen:
        if name not in _POOLINGS:
            raise InvalidArgumentError(f"pooling {name!r}: use 'cls', 'mean-patch' or 'all'")
    return chosen


class _Options:
    """A short-lived C options handle for one call."""

    def __init__(self, size: Size, crop: str, flags: int, layers: list[int], registers) -> None:
        mode, width, height = _resize(size, crop)
        handle = c_void_p()
        check(lib.vitreous_options_create(byref(handle)))
        self.handle = handle
        try:
            check(lib.vitreous_options_set_flags(handle, flags))
            check(lib.vitreous_options_set_resize(handle, mode, width, height))
            if layers:
                array = (c_int32 * len(layers))(*layers)
                check(lib.vitreous_options_set_layers(handle, array, len(layers)))
            if registers is not None:
                check(lib.vitreous_options_set_registers(handle, registers.handle()))
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.handle is not None:
            lib.vitreous_options_free(self.handle)
            self.handle = None


def _features(result: _Handle, layers: list[int], poolings: list[str] = ()) -> Features:
    handle = result.get("the result")
    info = (c_int32 * 8)()
    batch_info = (c_int32 * 4)()
    check(lib.vitreous_result_get_info(handle, byref(info)))
    check(lib.vitreous_result_get_batch_info(handle, byref(batch_info)))
    d, gh, gw, t, first, layer_count, heads, has_attention = list(info)
    b, r, k, _ = list(batch_info)
    tokens = np.empty((b, t, d), dtype=np.float32)
    check(lib.vitreous_result_tokens(handle, tokens.ctypes.data, tokens.size))
    hidden = {}
    for layer in layers:
        state = np.empty((b, t, d), dtype=np.float32)
        check(lib.vitreous_result_hidden_state(handle, layer, state.ctypes.data, state.size))
        hidden[layer] = state
    pooled = {}
    for name in poolings:
        values = np.empty((len(layers), b, d), dtype=np.float32)
        for index, layer in enumerate(layers):
            check(lib.vitreous_result_pooled_state(handle, layer, _POOLINGS[name], values[index].ctypes.data, b * d))
        pooled[name] = values
    norms = None
    if layer_count:
        norms = np.empty((layer_count, b, t), dtype=np.float32)
        for layer in range(layer_count):
            check(lib.vitreous_result_token_norms(handle, layer, norms[layer].ctypes.data, b * t))
    attention = None
    if has_attention:
        attention = np.empty((b, heads, t), dtype=np.float32)
        check(lib.vitreous_result_cls_attention(handle, attention.ctypes.data, attention.size))
    patches = tokens[:, first:first + gh * gw].reshape(b, gh, gw, d)
    return Features(tokens=tokens, cls=tokens[:, 0], registers=tokens[:, 1:first], patches=patches,
                    test_time_registers=tokens[:, first + gh * gw:], hidden_states=hidden, token_norms=norms,
                    cls_attention=attention, pooled=pooled, pooled_layers=list(layers),
                    _result=result)

