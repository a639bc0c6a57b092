"""`FileManager`: one API for every place an intermediate or final result can live."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .backends import Backend, DiskBackend, MemoryBackend, StorageError, ZarrBackend

BACKENDS: tuple[str, ...] = ("memory", "disk", "zarr")


class FileManager:
    """`save(key, data, backend)`, `load`, `exists`, `delete`, `list` over named backends.

    `memory` is always present (a well's intermediate results live there unless a step asks to
    materialise them); `disk` and `zarr` exist when the manager has a `root` folder: they write
    to `root/<disk_dir>` and `root/<zarr_dir>` atomically.
    """

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        disk_dir: str = "",
        zarr_dir: str = "intermediate.zarr",
    ) -> None:
        self.root = Path(root) if root is not None else None
        self.backends: dict[str, Backend] = {"memory": MemoryBackend()}
        if self.root is not None:
            self.backends["disk"] = DiskBackend(self.root / disk_dir)
            self.backends["zarr"] = ZarrBackend(self.root / zarr_dir)

    def backend(self, name: str) -> Backend:
        try:
            return self.backends[name]
        except KeyError:
            if name in BACKENDS:
                raise StorageError(
                    f"backend {name!r} needs an output folder (FileManager(root=...))"
                ) from None
            raise StorageError(f"unknown backend {name!r}; choose one of {BACKENDS}") from None

    def save(self, key: str, data: Any, backend: str = "memory") -> None:
        self.backend(backend).save(key, data)

    def load(self, key: str, backend: str = "memory") -> Any:
        return self.backend(backend).load(key)

    def exists(self, key: str, backend: str = "memory") -> bool:
        return self.backend(backend).exists(key)

    def delete(self, key: str, backend: str = "memory") -> None:
        self.backend(backend).delete(key)

    def list(self, prefix: str = "", backend: str = "memory") -> list[str]:
        return self.backend(backend).list(prefix)
