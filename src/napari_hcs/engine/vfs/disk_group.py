"""Zarr v2 groups on a local disk, laid out as zarr writes them (`.zgroup`, `.zattrs` JSON,
each file written atomically), without importing zarr.

The writer needs groups only for their attributes (the NGFF metadata) and as folders for its
arrays (`pyramid.write_array_v2`); zarr's import (a fifth of a second) and its per-call trip to
its event-loop thread were most of what writing a small well cost, in every worker and in the
process that creates and finishes the plate. Reading stays with zarr.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any

from .atomic import atomic_write_json

ZGROUP, ZATTRS = ".zgroup", ".zattrs"


class DiskAttributes(MutableMapping):
    """A group's `.zattrs`: read when first used, rewritten on every change (as zarr does)."""

    def __init__(self, folder: Path) -> None:
        self._path = folder / ZATTRS
        self._data: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        if self._data is None:
            self._data = json.loads(self._path.read_text()) if self._path.is_file() else {}
        return self._data

    def _save(self) -> None:
        # Atomically: a full disk leaves the previous attributes, never a truncated file.
        atomic_write_json(self._path, self._load())

    def __getitem__(self, key: str) -> Any:
        return self._load()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._load()[key] = value
        self._save()

    def __delitem__(self, key: str) -> None:
        del self._load()[key]
        self._save()

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def update(self, other: Mapping[str, Any] = (), /, **kw: Any) -> None:  # type: ignore[override]
        self._load().update(other, **kw)
        self._save()


class DiskGroup:
    """A zarr v2 group folder: `attrs`, `require_group`, `[path]` for an existing subgroup."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.attrs = DiskAttributes(self.folder)

    @classmethod
    def open(cls, folder: str | Path, mode: str = "a") -> DiskGroup:
        """`mode` "a": open or create; "w": create afresh (an existing folder is replaced)."""
        folder = Path(folder)
        if mode == "w" and folder.exists():
            shutil.rmtree(folder)
        return cls._make(folder)

    @classmethod
    def _make(cls, folder: Path) -> DiskGroup:
        folder.mkdir(parents=True, exist_ok=True)
        marker = folder / ZGROUP
        if not marker.is_file():
            atomic_write_json(marker, {"zarr_format": 2})
        return cls(folder)

    def require_group(self, path: str) -> DiskGroup:
        """The subgroup at `path` ("B/3": every level a group), created when missing."""
        folder = self.folder
        for part in path.strip("/").split("/"):
            folder = folder / part
            self._make(folder)
        return DiskGroup(folder)

    def __getitem__(self, path: str) -> DiskGroup:
        folder = self.folder / path.strip("/")
        if not (folder / ZGROUP).is_file():
            raise KeyError(path)
        return DiskGroup(folder)

    def __contains__(self, path: str) -> bool:
        return (self.folder / path.strip("/") / ZGROUP).is_file()
