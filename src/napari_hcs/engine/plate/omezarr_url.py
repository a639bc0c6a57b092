"""An OME-Zarr HCS plate on object storage (`s3://bucket/plate.zarr`, `gs://`, `az://`), NGFF 0.4
or 0.5, read through fsspec: the same reader as a local plate (`omezarr.OmeZarrReader`), its
metadata documents fetched from the store (each bounded before it is read) and its pixels
through zarr's fsspec store. Credentials and endpoint come from the usual places (AWS
variables and files; `AWS_ENDPOINT_URL` for an S3-compatible server).
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

from .model import PlateError, PlateLayout
from .omezarr import OmeZarrReader

#: The largest metadata document read from a store (a 3456-well plate's is about 0.5 MB).
MAX_METADATA_BYTES = 64 * 1024 * 1024


class ObjectStoreOmeZarrReader(OmeZarrReader):
    """An OME-Zarr plate at an fsspec URL. `root` is the plate's key path in its store."""

    def __init__(self, url: str) -> None:
        scheme, _, rest = str(url).partition(":/")
        self.url = f"{scheme}://{rest.lstrip('/')}".rstrip("/")
        self.scheme = scheme
        super().__init__(PurePosixPath(rest.lstrip("/")))  # type: ignore[arg-type]
        self.root = PurePosixPath(rest.lstrip("/").rstrip("/"))  # type: ignore[assignment]

    @cached_property
    def fs(self) -> Any:
        from ..vfs.location import check_writable

        try:  # a scheme fsspec cannot open is one clear line, as for outputs
            check_writable(self.url)
        except ValueError as exc:
            raise PlateError(str(exc).replace("write outputs to", "read")) from None
        from fsspec.core import url_to_fs

        return url_to_fs(self.url)[0]

    @cached_property
    def layout(self) -> PlateLayout:
        """The layout, its root the URL (what workers open the plate by)."""
        layout = OmeZarrReader.layout.func(self)  # type: ignore[attr-defined]
        return replace(layout, root=Path(self.url))  # "s3:/b/p.zarr", as omero:// plates

    def _key(self, path: Any) -> str:
        """The store key of `path` (a key path, or a URL that went through `Path`)."""
        text = str(path)
        for prefix in (f"{self.scheme}://", f"{self.scheme}:/"):
            if text.startswith(prefix):
                return text[len(prefix):]
        return text

    def _url(self, path: Any) -> str:
        return f"{self.scheme}://{self._key(path)}"

    def _attrs(self, group: Path) -> dict:
        for name in ("zarr.json", ".zattrs"):
            key = f"{self._key(group)}/{name}"
            try:
                size = int(self.fs.info(key).get("size") or 0)
            except FileNotFoundError:
                continue
            if size > MAX_METADATA_BYTES:
                raise PlateError(f"{self._url(key)} is {size} bytes; metadata larger than "
                                 f"{MAX_METADATA_BYTES} bytes is not read")
            try:
                attrs = json.loads(self.fs.cat_file(key))
            except ValueError as exc:
                raise PlateError(f"{self._url(key)} is not JSON: {exc}") from exc
            if name == "zarr.json":
                attrs = attrs.get("attributes", {}) if isinstance(attrs, dict) else {}
            return attrs.get("ome", attrs) if isinstance(attrs, dict) else {}
        return {}

    def _open(self, path: Path) -> Any:
        import zarr

        try:
            return zarr.open_array(self._url(path), mode="r")
        except Exception as exc:
            raise PlateError(f"unreadable image array {self._url(path)}: {exc}") from exc

    def image_path(self, key: Any) -> str:
        return self._url(super().image_path(key))
