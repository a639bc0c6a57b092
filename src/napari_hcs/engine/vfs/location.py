"""Where the OME-Zarr writer's files go: a local folder, or an fsspec URL (`s3://`, `gs://`).

The writer (`zarr_group`, `pyramid`, `omezarr`) sees one small interface: put a file's bytes
under a relative name, read a JSON document back, list sub-folders, remove a folder, and
build a folder so that readers never take it for complete before it is.

- `LocalFolder`: a folder on disk. Metadata is written atomically (`atomic.py`); a field is
  built in a temporary sibling and renamed into place (`staged`).
- `RemoteFolder`: a prefix on an object store through fsspec. Each object is written whole by
  one PUT (an object store never shows half an object), but there is no rename: `staged`
  writes in place, and a field counts as complete only once its group metadata exists, which
  the writer writes after every array (docs/outputs.md, "Object storage").

`open_folder` chooses; a URL whose scheme fsspec cannot write (`http://`) or whose filesystem
package is missing (`s3fs`) is refused before anything is written, never taken for a local
folder named `s3:`. A store that refuses us for want of credentials is one line naming the URL
and what to set (`access_refused`), not the client library's bare "Unable to locate
credentials".
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .atomic import atomic_dir, atomic_write_json, remove_stale_temps

#: fsspec protocols the writer may write to (object stores and the local/in-memory ones).
WRITABLE = ("s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "file", "memory")
#: The package each remote protocol needs (named in the refusal when it is missing).
_PACKAGES = {"s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "az": "adlfs",
             "abfs": "adlfs", "abfss": "adlfs"}

#: What each store family reads its credentials from, named when access is refused.
_CREDENTIALS = {
    "s3": "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, a profile in "
          "~/.aws/credentials), and AWS_ENDPOINT_URL for a local S3 server (MinIO, moto)",
    "gs": "set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, or run "
          "`gcloud auth application-default login`",
    "az": "set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT_NAME and "
          "AZURE_STORAGE_ACCOUNT_KEY",
}
_FAMILY = {"s3a": "s3", "gcs": "gs", "abfs": "az", "abfss": "az"}
#: Client exceptions (botocore, google-auth, azure-core) that mean: no or bad credentials.
_CREDENTIAL_ERRORS = frozenset({"NoCredentialsError", "PartialCredentialsError",
                                "CredentialRetrievalError", "DefaultCredentialsError",
                                "ClientAuthenticationError"})


def url_scheme(target: str | Path) -> str | None:
    """`s3` for `s3://bucket/x`; None for a local path (Windows drives `C:\\` included)."""
    text = str(target)
    scheme, sep, _ = text.partition("://")
    return scheme.lower() if sep and scheme.isascii() and len(scheme) > 1 else None


def is_remote(target: str | Path) -> bool:
    """Whether `target` is a URL that is not a local file (`file://` is local)."""
    return url_scheme(target) not in (None, "file")


def local_path(target: str | Path) -> Path:
    """The local path of a path or `file://` URL (`file:///data/out` -> `/data/out`)."""
    return Path(str(target).partition("://")[2]) if url_scheme(target) == "file" else Path(target)


def check_writable(target: str | Path) -> None:
    """Refuse (ValueError, one line) a URL the writer cannot write, before any work."""
    scheme = url_scheme(target)
    if scheme is None or scheme == "file":
        return
    if scheme not in WRITABLE:
        raise ValueError(f"cannot write outputs to {target}: {scheme}:// is not a writable "
                         f"store; use a local folder or one of "
                         f"{', '.join(s + '://' for s in ('s3', 'gs', 'az', 'file'))}")
    import fsspec

    try:
        fsspec.get_filesystem_class(scheme)
    except (ImportError, ValueError) as exc:
        package = _PACKAGES.get(scheme, f"fsspec's {scheme} support")
        raise ValueError(f"cannot write outputs to {target}: {scheme}:// needs {package} "
                         f"(pip install {package}): {exc}") from None


def access_refused(target: str | Path, exc: BaseException) -> ValueError | None:
    """One line naming `target` and the credentials to set, when `exc` (or an error it was
    raised from) says the store refused us for want of credentials; None otherwise."""
    seen, error = 0, exc
    while error is not None and seen < 8:  # a bounded walk down the chain of causes
        if type(error).__name__ in _CREDENTIAL_ERRORS or isinstance(error, PermissionError):
            break
        error, seen = error.__cause__ or error.__context__, seen + 1
    else:
        return None
    scheme = url_scheme(target) or ""
    hint = _CREDENTIALS.get(_FAMILY.get(scheme, scheme), "check the store's credentials")
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return ValueError(f"cannot write outputs to {target}: {reason}; {hint}")


def open_folder(target: str | Path | LocalFolder | RemoteFolder) -> LocalFolder | RemoteFolder:
    """The folder at `target`: a path or `file://` URL is local, any other URL remote."""
    if isinstance(target, LocalFolder | RemoteFolder):
        return target
    scheme = url_scheme(target)
    if scheme is None:
        return LocalFolder(Path(target))
    if scheme == "file":
        return LocalFolder(local_path(target))
    check_writable(target)
    from fsspec.core import url_to_fs

    fs, path = url_to_fs(str(target))
    return RemoteFolder(fs, path.rstrip("/"))


class LocalFolder:
    """A folder on disk (it need not exist yet)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._made: set[Path] = set()

    def __str__(self) -> str:
        return str(self.path)

    def join(self, *parts: str) -> LocalFolder:
        return LocalFolder(self.path.joinpath(*parts))

    def exists(self) -> bool:
        return self.path.is_dir()

    def has(self, name: str) -> bool:
        return (self.path / name).is_file()

    def read_json(self, name: str) -> Any:
        """The JSON document `name`, or None when there is none."""
        path = self.path / name
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    def write_json(self, name: str, obj: Any) -> None:
        """Atomically: a full disk leaves the previous document, never a truncated one."""
        atomic_write_json(self.path / name, obj)

    def put(self, name: str, data: bytes | memoryview) -> None:
        """A file written in place: for array chunks inside a folder being `staged`."""
        path = self.path / name
        parent = path.parent
        if parent not in self._made:  # chunk keys nest ("c/0/1/2"): one mkdir per folder
            parent.mkdir(parents=True, exist_ok=True)
            self._made.add(parent)
        with open(path, "wb") as fh:
            fh.write(data)

    def subfolders(self) -> list[str]:
        if not self.path.is_dir():
            return []
        return [p.name for p in self.path.iterdir() if p.is_dir()]

    def remove(self, name: str = "") -> None:
        target = self.path / name if name else self.path
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)

    def make(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)

    def clean_temps(self) -> None:
        """Temporary siblings of interrupted writes (never complete data) go."""
        remove_stale_temps(self.path)

    @contextlib.contextmanager
    def staged(self, name: str) -> Iterator[LocalFolder]:
        """Build sub-folder `name` in a temporary sibling; it replaces `name` on success."""
        with atomic_dir(self.path / name) as tmp:
            yield LocalFolder(tmp)


class RemoteFolder:
    """A prefix of an fsspec filesystem (an S3 bucket's `res/plate.zarr`)."""

    def __init__(self, fs: Any, path: str) -> None:
        self.fs = fs
        self.path = path

    def __str__(self) -> str:
        protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        return f"{protocol}://{self.path}"

    def _key(self, name: str) -> str:
        return f"{self.path}/{name}" if name else self.path

    def join(self, *parts: str) -> RemoteFolder:
        return RemoteFolder(self.fs, "/".join([self.path, *parts]))

    def exists(self) -> bool:
        return bool(self.fs.exists(self.path))

    def has(self, name: str) -> bool:
        return bool(self.fs.isfile(self._key(name)))

    def read_json(self, name: str) -> Any:
        try:
            return json.loads(self.fs.cat_file(self._key(name)))
        except FileNotFoundError:
            return None

    def write_json(self, name: str, obj: Any) -> None:
        self.put(name, (json.dumps(obj, indent=2, default=str) + "\n").encode())

    def put(self, name: str, data: bytes | memoryview) -> None:
        self.fs.pipe_file(self._key(name), bytes(data))

    def subfolders(self) -> list[str]:
        try:
            entries = self.fs.ls(self.path, detail=True, refresh=True)
        except FileNotFoundError:
            return []
        return [e["name"].rstrip("/").rsplit("/", 1)[-1] for e in entries
                if e.get("type") == "directory"]

    def remove(self, name: str = "") -> None:
        key = self._key(name)
        if self.fs.exists(key):
            self.fs.rm(key, recursive=True)

    def make(self) -> None:
        """Object stores have no folders: a prefix exists once an object is under it."""

    def clean_temps(self) -> None:
        """No temporary folders are made on object storage (`staged` writes in place)."""

    @contextlib.contextmanager
    def staged(self, name: str) -> Iterator[RemoteFolder]:
        """No rename on an object store: the old `name` goes, the new one is written in place;
        its group metadata, written last by the writer, marks it complete."""
        self.remove(name)
        yield self.join(name)
