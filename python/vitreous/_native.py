"""The ctypes declarations of include/vitreous.h and the status → exception mapping.

Loaded from the ``VITREOUS_LIBRARY`` environment variable when set (a path to ``libvitreous.so``, such as the
CMake build's ``build/lib/libvitreous.so``), else from the copy inside this package. ``ctypes.CDLL`` releases the
GIL for the duration of every call, so encoding never blocks other Python threads.
"""

from __future__ import annotations

import ctypes
import os
from ctypes import POINTER, c_char_p, c_float, c_int32, c_size_t, c_uint8, c_uint32, c_void_p
from pathlib import Path

__all__ = [
    "lib", "check", "VitreousError", "InvalidArgumentError", "NullPointerError", "BufferSizeError",
    "InvalidHandleError", "UnknownDeviceError", "VitreousIOError", "ModelError", "ImageError", "BackendError",
    "VitreousMemoryError", "InternalError", "ClosedError",
]


class VitreousError(Exception):
    """A failed Vitreous call. ``str(error)`` is the library's message; ``status`` its ``vitreous_status`` number."""

    status: int = -1

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class InvalidArgumentError(VitreousError, ValueError):
    """An argument out of range: sizes, layers, flags, a NaN value, a side that is not a multiple of the patch."""
    status = 1


class NullPointerError(VitreousError, ValueError):
    """A required argument is missing (the binding normally catches this first)."""
    status = 2


class BufferSizeError(VitreousError, ValueError):
    """An array smaller than the call needs."""
    status = 3


class InvalidHandleError(VitreousError):
    """A freed or foreign handle (the binding normally catches this first, see :class:`ClosedError`)."""
    status = 4


class UnknownDeviceError(VitreousError, LookupError):
    """A device index or name that does not exist or cannot be started."""
    status = 5


class VitreousIOError(VitreousError, OSError):
    """A file that cannot be opened or read."""
    status = 6


class ModelError(VitreousError):
    """A file that is not a DINOv2-family checkpoint Vitreous can load."""
    status = 7


class ImageError(VitreousError):
    """An image that cannot be decoded or used."""
    status = 8


class BackendError(VitreousError, RuntimeError):
    """An OpenCL or CLBlast failure (the device recovers for later calls)."""
    status = 9


class VitreousMemoryError(VitreousError, MemoryError):
    """Host or device memory ran out."""
    status = 10


class InternalError(VitreousError, RuntimeError):
    """Anything else; please report it."""
    status = 11


class ClosedError(VitreousError, ValueError):
    """An object used after ``close()``."""
    status = 4


_ERRORS: dict[int, type[VitreousError]] = {
    cls.status: cls for cls in (InvalidArgumentError, NullPointerError, BufferSizeError, InvalidHandleError,
                                UnknownDeviceError, VitreousIOError, ModelError, ImageError, BackendError,
                                VitreousMemoryError, InternalError)
}


def _library_path() -> str:
    override = os.environ.get("VITREOUS_LIBRARY")
    if override:
        return override
    return str(Path(__file__).with_name("libvitreous.so"))


def _load() -> ctypes.CDLL:
    path = _library_path()
    try:
        return ctypes.CDLL(path)
    except OSError as error:
        raise ImportError(f"vitreous: cannot load {path} ({error}); install the package with pip, or set "
                          "VITREOUS_LIBRARY to a built libvitreous.so") from error


lib = _load()

_P = c_void_p
_status = c_int32
_signatures: dict[str, tuple[object, list[object]]] = {
    "vitreous_version": (c_char_p, []),
    "vitreous_last_error": (c_char_p, []),
    "vitreous_device_count": (_status, [POINTER(c_int32)]),
    "vitreous_default_device": (_status, [POINTER(c_int32)]),
    "vitreous_device_name": (_status, [c_int32, ctypes.c_char_p, c_size_t]),
    "vitreous_model_load": (_status, [c_char_p, c_int32, POINTER(_P)]),
    "vitreous_model_create_demo": (_status, [c_int32, POINTER(_P)]),
    "vitreous_model_load_with_precision": (_status, [c_char_p, c_int32, c_int32, POINTER(_P)]),
    "vitreous_model_create_demo_with_precision": (_status, [c_int32, c_int32, POINTER(_P)]),
    "vitreous_model_get_precision": (_status, [_P, POINTER(c_int32)]),
    "vitreous_model_get_info": (_status, [_P, POINTER(c_int32 * 8)]),
    "vitreous_model_free": (_status, [_P]),
    "vitreous_demo_image_rgb8": (_status, [_P, c_size_t, POINTER(c_int32), POINTER(c_int32)]),
    "vitreous_options_create": (_status, [POINTER(_P)]),
    "vitreous_options_free": (_status, [_P]),
    "vitreous_options_set_flags": (_status, [_P, c_uint32]),
    "vitreous_options_set_resize": (_status, [_P, c_int32, c_int32, c_int32]),
    "vitreous_options_set_layers": (_status, [_P, POINTER(c_int32), c_size_t]),
    "vitreous_options_set_registers": (_status, [_P, _P]),
    "vitreous_encode_batch_rgb8": (_status, [_P, _P, c_size_t, c_int32, c_int32, c_int32, _P, POINTER(_P)]),
    "vitreous_encode_batch_float": (_status, [_P, _P, c_size_t, c_int32, c_int32, c_int32, c_int32, _P, POINTER(_P)]),
    "vitreous_result_get_info": (_status, [_P, POINTER(c_int32 * 8)]),
    "vitreous_result_get_batch_info": (_status, [_P, POINTER(c_int32 * 4)]),
    "vitreous_result_tokens": (_status, [_P, _P, c_size_t]),
    "vitreous_result_token_norms": (_status, [_P, c_int32, _P, c_size_t]),
    "vitreous_result_cls_attention": (_status, [_P, _P, c_size_t]),
    "vitreous_result_hidden_state": (_status, [_P, c_int32, _P, c_size_t]),
    "vitreous_result_pooled_state": (_status, [_P, c_int32, c_int32, _P, c_size_t]),
    "vitreous_result_free": (_status, [_P]),
    "vitreous_detect_artifacts_image": (_status, [_P, c_int32, c_int32, c_int32, c_float, _P, c_size_t,
                                                  POINTER(c_int32)]),
    "vitreous_repair_inpaint_image": (_status, [_P, c_int32, c_int32, c_float, _P, c_size_t, POINTER(c_int32)]),
    "vitreous_registers_load": (_status, [_P, c_char_p, c_int32, POINTER(_P)]),
    "vitreous_registers_save": (_status, [_P, _P, c_char_p]),
    "vitreous_registers_find": (_status, [_P, _P, c_size_t, c_int32, c_int32, c_int32, _P, c_int32, c_int32,
                                          c_int32, c_int32, c_float, POINTER(_P)]),
    "vitreous_registers_get_neurons": (_status, [_P, _P, _P, c_size_t, POINTER(c_int32)]),
    "vitreous_registers_free": (_status, [_P]),
    "vitreous_image_load": (_status, [c_char_p, c_uint32, POINTER(_P)]),
    "vitreous_image_decode": (_status, [_P, c_size_t, c_uint32, POINTER(_P)]),
    "vitreous_image_get_size": (_status, [_P, POINTER(c_int32), POINTER(c_int32)]),
    "vitreous_image_pixels": (_status, [_P, _P, c_size_t]),
    "vitreous_image_free": (_status, [_P]),
    "vitreous_analyze_rgb8": (_status, [_P, _P, c_size_t, c_int32, c_int32, c_int32, _P, c_char_p, _P, _P, _P,
                                        c_size_t, c_int32, ctypes.c_double, c_int32, POINTER(_P)]),
    "vitreous_analysis_json": (_status, [_P, _P, c_size_t, POINTER(c_size_t)]),
    "vitreous_analysis_values": (_status, [_P, c_char_p, _P, c_size_t, POINTER(c_int32), POINTER(c_int32)]),
    "vitreous_analysis_free": (_status, [_P]),
}
for _name, (_restype, _argtypes) in _signatures.items():
    _function = getattr(lib, _name)
    _function.restype = _restype
    _function.argtypes = _argtypes


def check(status: int) -> None:
    """Raises the :class:`VitreousError` subclass of a non-zero status with this thread's C message.

    The message is per thread in the library, and ctypes makes the call on the calling thread, so the message
    read here is the one of the call that failed even when other threads call the library at the same time.
    """
    if status == 0:
        return
    message = (lib.vitreous_last_error() or b"").decode("utf-8", "replace")
    raise _ERRORS.get(status, InternalError)(message or f"vitreous: status {status}", status)


__all__ += ["c_float", "c_int32", "c_uint8", "c_size_t", "c_void_p"]
