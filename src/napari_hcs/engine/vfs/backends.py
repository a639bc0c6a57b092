"""Storage backends behind `FileManager`: memory, disk and zarr.

Each backend stores values under slash-separated keys (`"A01/step_1/s1_c1_z1_t1"`) and answers
`save / load / exists / delete / list`. Disk and zarr writes are atomic (see `atomic.py`).
"""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

import numpy as np

from .atomic import TMP_MARK, atomic_dir, atomic_write, atomic_write_bytes


class StorageError(KeyError):
    """A key that is not stored, or a value a backend cannot store; the message names both."""

    def __str__(self) -> str:  # KeyError quotes its message; users read this one
        return str(self.args[0]) if self.args else ""


def check_key(key: str) -> str:
    parts = PurePosixPath(key).parts
    if not key or key.startswith("/") or any(p in ("..", ".") for p in parts):
        raise StorageError(f"invalid storage key {key!r}: use relative names like 'A01/step/x'")
    return "/".join(parts)


class Backend(Protocol):
    name: str

    def save(self, key: str, data: Any) -> None: ...
    def load(self, key: str) -> Any: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def list(self, prefix: str = "") -> list[str]: ...


class MemoryBackend:
    """Intermediate results of one well: kept in this process, never written."""

    name = "memory"

    def __init__(self) -> None:
        self._data: dict[str, Any] = {}

    def save(self, key: str, data: Any) -> None:
        self._data[check_key(key)] = data

    def load(self, key: str) -> Any:
        try:
            return self._data[check_key(key)]
        except KeyError:
            raise StorageError(f"memory: no value stored under {key!r}") from None

    def exists(self, key: str) -> bool:
        return check_key(key) in self._data

    def delete(self, key: str) -> None:
        self._data.pop(check_key(key), None)

    def list(self, prefix: str = "") -> list[str]:
        return sorted(k for k in self._data if k.startswith(prefix))

    def clear(self) -> None:
        self._data.clear()


# Disk files carry their type in the suffix, so `load` needs no side metadata.
_SUFFIXES = (".npy", ".parquet", ".json", ".bin")


class DiskBackend:
    """Files under a root folder: arrays as `.npy`, DataFrames as `.parquet`, JSON, bytes."""

    name = "disk"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path | None:
        base = self.root / check_key(key)
        return next((p for s in _SUFFIXES if (p := base.with_name(base.name + s)).is_file()), None)

    def save(self, key: str, data: Any) -> None:
        import pandas as pd

        base = self.root / check_key(key)
        if isinstance(data, pd.DataFrame):
            suffix, write = ".parquet", lambda tmp: data.to_parquet(tmp, index=False)
        elif isinstance(data, np.ndarray):
            suffix = ".npy"

            def write(tmp: Path) -> None:
                with open(tmp, "wb") as fh:
                    np.save(fh, data, allow_pickle=False)
        elif isinstance(data, bytes | bytearray):
            suffix, write = ".bin", lambda tmp: tmp.write_bytes(bytes(data))
        else:
            try:
                text = json.dumps(data)
            except TypeError as exc:
                raise StorageError(
                    f"disk: cannot store {type(data).__name__} at {key!r}: {exc}"
                ) from None
            suffix, write = ".json", lambda tmp: tmp.write_text(text, encoding="utf-8")
        old = self._path(key)
        atomic_write(base.with_name(base.name + suffix), write)
        if old is not None and old.suffix != suffix:
            old.unlink()

    def load(self, key: str) -> Any:
        path = self._path(key)
        if path is None:
            raise StorageError(f"disk: no file for {key!r} under {self.root}")
        if path.suffix == ".npy":
            return np.load(path, allow_pickle=False)
        if path.suffix == ".parquet":
            import pandas as pd

            return pd.read_parquet(path)
        if path.suffix == ".json":
            return json.loads(path.read_text(encoding="utf-8"))
        return path.read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key) is not None

    def delete(self, key: str) -> None:
        path = self._path(key)
        if path is not None:
            path.unlink()
        elif (self.root / check_key(key)).is_dir():
            shutil.rmtree(self.root / check_key(key))

    def list(self, prefix: str = "") -> list[str]:
        if not self.root.is_dir():
            return []
        keys = []
        for path in self.root.rglob("*"):
            if path.is_file() and path.suffix in _SUFFIXES and TMP_MARK not in path.name:
                key = path.relative_to(self.root).with_suffix("").as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)


class ZarrBackend:
    """Arrays in a zarr (format 2) folder: one array per key, each written atomically."""

    name = "zarr"

    def __init__(self, root: str | Path, chunk: int = 1024) -> None:
        self.root = Path(root)
        self.chunk = chunk

    def save(self, key: str, data: Any) -> None:
        import zarr

        arr = np.asarray(data)
        path = self.root / check_key(key)
        if not (self.root / ".zgroup").exists():
            zarr.open_group(self.root, mode="a", zarr_format=2)
        self._ensure_groups(path.parent)
        chunks = tuple(
            min(s, self.chunk) if i >= arr.ndim - 2 else 1 for i, s in enumerate(arr.shape)
        )
        with atomic_dir(path) as tmp:
            zarr.create_array(str(tmp), data=arr, chunks=chunks or "auto", zarr_format=2)

    def _ensure_groups(self, folder: Path) -> None:
        # Intermediate folders become zarr groups so that any zarr tool can browse the tree.
        for parent in [folder, *folder.parents]:
            if parent == self.root or self.root not in parent.parents:
                break
            parent.mkdir(parents=True, exist_ok=True)
            if not (parent / ".zgroup").exists():
                atomic_write_bytes(parent / ".zgroup", b'{"zarr_format": 2}\n')

    def load(self, key: str) -> np.ndarray:
        import zarr

        path = self.root / check_key(key)
        if not (path / ".zarray").is_file():
            raise StorageError(f"zarr: no array {key!r} in {self.root}")
        return zarr.open_array(str(path), mode="r", zarr_format=2)[...]

    def exists(self, key: str) -> bool:
        return (self.root / check_key(key) / ".zarray").is_file()

    def delete(self, key: str) -> None:
        path = self.root / check_key(key)
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(path)

    def list(self, prefix: str = "") -> list[str]:
        if not self.root.is_dir():
            return []
        keys = [
            p.parent.relative_to(self.root).as_posix()
            for p in self.root.rglob(".zarray")
            if TMP_MARK not in p.parent.as_posix()
        ]
        return sorted(k for k in keys if k.startswith(prefix))
