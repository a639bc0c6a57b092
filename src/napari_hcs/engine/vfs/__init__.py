"""Virtual file system: where results live (memory, disk, zarr) and the OME-Zarr HCS writer."""

from .atomic import atomic_dir, atomic_write, atomic_write_bytes, atomic_write_json
from .backends import DiskBackend, MemoryBackend, StorageError, ZarrBackend
from .manager import BACKENDS, FileManager

__all__ = [
    "BACKENDS",
    "DiskBackend",
    "FileManager",
    "MemoryBackend",
    "StorageError",
    "ZarrBackend",
    "atomic_dir",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_json",
]
