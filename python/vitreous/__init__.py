"""Vitreous from Python: DINOv2-family Vision Transformers on OpenCL or the CPU, with artifact detection and
repair, over the C API (``libvitreous.so``) through ctypes.

>>> import vitreous
>>> encoder = vitreous.Encoder("dinov2-small")          # a .safetensors file or a Hugging Face folder
>>> features = encoder.encode(vitreous.load_image("cat.jpg"))   # DINOv2's 224 px centre crop
>>> features.cls.shape, features.patches.shape
((1, 384), (1, 16, 16, 384))
"""

from ._native import (BackendError, BufferSizeError, ClosedError, ImageError, InternalError,
                      InvalidArgumentError, InvalidHandleError, ModelError, NullPointerError, UnknownDeviceError,
                      VitreousError, VitreousIOError, VitreousMemoryError, lib as _lib)
from ._encoder import Device, Encoder, Features, demo_image, devices, load_image
from ._analysis import analyze
from ._repair import RegisterNeurons, detect_artifacts, find_register_neurons, repair

__version__ = _lib.vitreous_version().decode()

__all__ = [
    "Encoder", "Features", "analyze", "Device", "RegisterNeurons", "devices", "load_image", "demo_image", "detect_artifacts",
    "find_register_neurons", "repair", "VitreousError", "InvalidArgumentError", "NullPointerError",
    "BufferSizeError", "InvalidHandleError", "UnknownDeviceError", "VitreousIOError", "ModelError", "ImageError",
    "BackendError", "VitreousMemoryError", "InternalError", "ClosedError", "__version__",
]
