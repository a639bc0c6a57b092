"""Memory types (numpy, torch, cupy): conversion between them and device discovery."""

from .convert import MemoryConversionError, convert, device_of, memory_type_of
from .devices import (
    available_devices,
    cuda_available,
    library_installed,
    memory_supported_on,
    parse_device,
)

__all__ = [
    "MemoryConversionError",
    "available_devices",
    "convert",
    "cuda_available",
    "device_of",
    "library_installed",
    "memory_supported_on",
    "memory_type_of",
    "parse_device",
]
