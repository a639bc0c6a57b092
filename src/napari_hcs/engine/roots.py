"""Confinement: a run driven from the network opens only files that resolve under its roots.

`AllowedRoots` travels with the plate reader (`open_plate(path, roots=...)`) and in every
`WellPlan` (`plan.roots`), and the functions that open files ask it first: the plate readers
before they list a folder or read metadata or pixels, the executor before it reads a tile, the
output writers before they write, replace or remove anything under the output folder. A path is
judged by where it really is (`os.path.realpath`, every symlink followed), so a symlinked
`TimePoint_1`, a Harmony `<URL>` with `..` or an absolute path, or a `tables` link planted in an
output folder is refused with one line naming the file. Without roots (a local run from the CLI
or the viewer) nothing is checked and paths are used as given.

A check and the open that follows are two system calls; someone who can rename folders under a
root between them can still race it (see docs/server.md, "Threat model").
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any


class NotRegularFileError(OSError):
    """A FIFO, device or folder where a store's chunk or metadata file should be."""


class OutsideRootsError(PermissionError):
    """A file that resolves outside every allowed root; the message names it and the roots."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "outside the allowed roots"


@dataclass(frozen=True)
class AllowedRoots:
    """The folders a run may read and write under (resolved, absolute); empty: no confinement.

    Plain strings, so it pickles into worker processes and Dask tasks with the plans.
    """

    paths: tuple[str, ...] = ()

    @classmethod
    def of(cls, roots: Iterable[str | os.PathLike[str]]) -> AllowedRoots:
        return cls(tuple(dict.fromkeys(os.path.realpath(os.fspath(r)) for r in roots)))

    @property
    def confined(self) -> bool:
        return bool(self.paths)

    def _inside(self, real: str) -> bool:
        return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep)
                   for root in self.paths)

    def contains(self, path: str | os.PathLike[str]) -> bool:
        """Whether `path` really (every link followed) lies under a root; True without roots."""
        return not self.paths or self._inside(os.path.realpath(os.fspath(path)))

    def check(self, path: str | os.PathLike[str], action: str = "read") -> Path:
        """Where `path` really is (every link followed) when that lies under a root; raises
        OutsideRootsError naming `path` otherwise. Without roots, `path` unchanged.

        Open the returned path: it is the one that was checked.
        """
        if not self.paths:
            return Path(path)
        real = os.path.realpath(os.fspath(path))
        if not self._inside(real):
            shown = os.fspath(path)
            via = "" if real == shown else f" (it resolves to {real})"
            raise OutsideRootsError(
                f"refused to {action} {shown}{via}: outside the allowed roots "
                f"({', '.join(self.paths)})")
        return Path(real)

    def check_tree(self, folder: str | os.PathLike[str], action: str = "write") -> Path:
        """`check(folder)`, and every symlink below it (not followed while walking) must
        resolve under a root too: for folders that are read or changed in place (a resumed
        output). Returns the checked folder."""
        real = self.check(folder, action)
        if not self.paths or not real.is_dir():
            return real
        for top, dirs, files in os.walk(real):
            for name in (*dirs, *files):
                entry = os.path.join(top, name)
                if os.path.islink(entry):
                    self.check(entry, action)
        return real

    def zarr_store(self, path: str | os.PathLike[str], *, read_only: bool = True) -> Any:
        """What to hand `zarr.open_*` for the store at `path`: a local store that checks every
        key it reads or writes (chunks included) against the roots, and reads only regular
        files (a FIFO named like a chunk would block the read forever); for writing without
        roots, the path itself."""
        if not self.paths and not read_only:
            return str(path)
        real = self.check(path, "read" if read_only else "write")
        return _confined_store_class()(str(real), read_only=read_only, roots=self)


@cache
def _confined_store_class() -> type:
    # zarr is imported only when a confined zarr is opened (the engine imports it lazily).
    from zarr.storage import LocalStore

    class ConfinedStore(LocalStore):  # type: ignore[misc]
        """A LocalStore whose keys must resolve under the roots (a chunk may be a symlink)."""

        def __init__(self, root: str, *, read_only: bool, roots: AllowedRoots) -> None:
            super().__init__(root, read_only=read_only)
            self.allowed = roots

        def _checked(self, key: str, action: str) -> None:
            self.allowed.check(self.root / key, action)
            if action == "read":
                try:
                    mode = os.stat(self.root / key).st_mode
                except OSError:
                    return  # missing: zarr's fill value, as without the check
                if not stat.S_ISREG(mode):
                    raise NotRegularFileError(f"{self.root / key} is not a regular file; an "
                                              "image store holds only regular files")

        async def get(self, key: str, prototype: Any = None, byte_range: Any = None) -> Any:
            self._checked(key, "read")
            return await super().get(key, prototype, byte_range)

        async def get_partial_values(self, prototype: Any, key_ranges: Any) -> Any:
            key_ranges = list(key_ranges)
            for key, _ in key_ranges:
                self._checked(key, "read")
            return await super().get_partial_values(prototype, key_ranges)

        async def _set(self, key: str, value: Any, exclusive: bool = False) -> None:
            self._checked(key, "write")
            await super()._set(key, value, exclusive=exclusive)

        async def delete(self, key: str) -> None:
            self._checked(key, "remove")
            await super().delete(key)

        def with_read_only(self, read_only: bool = False) -> Any:
            return type(self)(str(self.root), read_only=read_only, roots=self.allowed)

    return ConfinedStore


UNCONFINED = AllowedRoots()
