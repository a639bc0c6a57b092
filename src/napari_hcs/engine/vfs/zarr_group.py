"""Zarr groups holding NGFF metadata, written without importing zarr: v2 (`.zgroup` and
`.zattrs`, NGFF 0.4) or v3 (`zarr.json`, NGFF 0.5 with its attributes under `ome`).

The writer needs groups only for their attributes (the NGFF metadata) and as folders for its
arrays (`pyramid`); zarr's import (a fifth of a second) and its per-call trip to its event-loop
thread were most of what writing a small well cost, in every worker and in the process that
creates and finishes the plate. Reading stays with zarr. Where the files go (a local folder or
an object store) is `location`'s business.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any

from .location import LocalFolder, RemoteFolder, open_folder

ZGROUP, ZATTRS, ZARR_JSON = ".zgroup", ".zattrs", "zarr.json"
#: The NGFF version each zarr format carries (NGFF 0.5 is zarr v3 only; 0.4 is zarr v2 only).
NGFF_VERSION = {2: "0.4", 3: "0.5"}
ZARR_FORMAT = {v: k for k, v in NGFF_VERSION.items()}

Folder = LocalFolder | RemoteFolder


def zarr_format_of(folder: Folder) -> int | None:
    """3 for a `zarr.json` node, 2 for a `.zgroup`/`.zarray` one, None when there is none."""
    if folder.has(ZARR_JSON):
        return 3
    if folder.has(ZGROUP) or folder.has(ZATTRS):
        return 2
    return None


class NgffAttributes(MutableMapping):
    """A group's NGFF attributes (0.5: the `ome` object, whose `version` this adds), read when
    first used and rewritten whole on every change, as zarr does. With `ome=False`, the
    group's own attributes (v3 too: Fractal's tables keep theirs beside any `ome`)."""

    def __init__(self, folder: Folder, zarr_format: int, ome: bool = True) -> None:
        self._folder = folder
        self._format = zarr_format
        self._ome = ome and zarr_format == 3
        self._data: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        if self._data is None:
            if self._format == 2:
                self._data = self._folder.read_json(ZATTRS) or {}
            else:
                meta = self._folder.read_json(ZARR_JSON) or {}
                attrs = dict(meta.get("attributes", {}))
                if self._ome:
                    attrs = dict(attrs.get("ome", {}))
                    attrs.pop("version", None)
                self._data = attrs
        return self._data

    def _save(self) -> None:
        data = self._load()
        if self._format == 2:
            self._folder.write_json(ZATTRS, data)
        else:
            attrs = {"ome": {"version": NGFF_VERSION[3], **data}} if self._ome else data
            self._folder.write_json(ZARR_JSON, {"zarr_format": 3, "node_type": "group",
                                                "attributes": attrs})

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


class Group:
    """A zarr group: `attrs` (NGFF), `require_group`, `[path]` for an existing subgroup."""

    def __init__(self, folder: Folder, zarr_format: int) -> None:
        self.folder = folder
        self.zarr_format = zarr_format
        self.attrs = NgffAttributes(folder, zarr_format)

    @property
    def plain_attrs(self) -> NgffAttributes:
        """The group's attributes as they are, not NGFF's (`ome` in v3)."""
        return NgffAttributes(self.folder, self.zarr_format, ome=False)

    @property
    def ngff_version(self) -> str:
        return NGFF_VERSION[self.zarr_format]

    @classmethod
    def open(cls, target: str | Path | Folder, mode: str = "a",
             zarr_format: int | None = None) -> Group:
        """`mode` "a": open (in its own format) or create (in `zarr_format`, default 3); "w":
        create afresh (an existing group is replaced)."""
        folder = open_folder(target)
        if mode == "w":
            folder.remove()
        found = zarr_format_of(folder)
        if found is not None and zarr_format is not None and found != zarr_format:
            raise ValueError(f"{folder} is a zarr v{found} group (NGFF {NGFF_VERSION[found]}); "
                             f"cannot add NGFF {NGFF_VERSION[zarr_format]} to it")
        return cls._make(folder, found or zarr_format or 3)

    @classmethod
    def existing(cls, target: str | Path | Folder) -> Group:
        """The group at `target`, which must exist (FileNotFoundError otherwise)."""
        folder = open_folder(target)
        found = zarr_format_of(folder)
        if found is None:
            raise FileNotFoundError(f"{folder}: no zarr group there")
        return cls(folder, found)

    @classmethod
    def _make(cls, folder: Folder, zarr_format: int) -> Group:
        folder.make()
        if zarr_format_of(folder) is None:
            if zarr_format == 2:
                folder.write_json(ZGROUP, {"zarr_format": 2})
            else:
                folder.write_json(ZARR_JSON, {"zarr_format": 3, "node_type": "group",
                                              "attributes": {}})
        return cls(folder, zarr_format)

    def require_group(self, path: str) -> Group:
        """The subgroup at `path` ("B/3": every level a group), created when missing."""
        folder = self.folder
        for part in path.strip("/").split("/"):
            folder = folder.join(part)
            self._make(folder, self.zarr_format)
        return Group(folder, self.zarr_format)

    def __getitem__(self, path: str) -> Group:
        folder = self.folder.join(*path.strip("/").split("/"))
        if zarr_format_of(folder) != self.zarr_format:
            raise KeyError(path)
        return Group(folder, self.zarr_format)

    def __contains__(self, path: str) -> bool:
        return zarr_format_of(self.folder.join(*path.strip("/").split("/"))) == self.zarr_format
