"""Opening a run's own files in its output folder without following links.

An output folder may be shared with others (a group drive, a server's root), and whoever can
write there can plant a link before a run: `OUT/.napari-hcs.lock` hard-linked to the input's
`Plate.HTD` would be truncated by the lock, a symlinked `run.json` read from elsewhere, a
symlink inside `plate.zarr` followed by a resumed run's writes and clean-ups. So the lock, the
manifest and the run record are opened relative to the output folder's descriptor with
`O_NOFOLLOW` (`os.open(name, flags, dir_fd=fd)`), and refused when they are not regular files
or have another name somewhere (`st_nlink > 1`); `check_tree` looks at every entry below a
folder a resumed run writes into.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
HAS_DIR_FD = os.open in os.supports_dir_fd


class UnsafeOutput(OSError):
    """An output entry that is a link, has several names, or is not a regular file."""


@contextlib.contextmanager
def output_folder(out: Path) -> Iterator[int | None]:
    """A descriptor of the folder `out` (None where the platform has no `dir_fd`)."""
    if not HAS_DIR_FD:
        yield None
        return
    fd = os.open(out, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    try:
        yield fd
    finally:
        os.close(fd)


def open_entry(folder: int | None, out: Path, name: str, flags: int, mode: int = 0o644) -> int:
    """`os.open` of `out/name` relative to `folder` (its descriptor), never following a link;
    UnsafeOutput naming it when it is a link, not a regular file, or has another name."""
    path = out / name
    try:
        if folder is None:
            fd = os.open(path, flags | NOFOLLOW | _CLOEXEC, mode)
        else:
            fd = os.open(name, flags | NOFOLLOW | _CLOEXEC, mode, dir_fd=folder)
    except OSError:
        if os.path.islink(path):
            raise UnsafeOutput(f"{path} is a symbolic link; napari-hcs never follows links in "
                               "its output folder: remove it") from None
        raise
    try:
        check_own(os.fstat(fd), path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def check_own(st: os.stat_result, path: Path) -> None:
    """Refuse a file that is not a regular file with exactly one name."""
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeOutput(f"{path} is not a regular file; napari-hcs writes only its own "
                           "regular files there: remove it, or choose another output folder")
    if st.st_nlink > 1:
        raise UnsafeOutput(f"{path} has {st.st_nlink} names (a hard link to another file): "
                           "writing it would change that file too; remove it, or choose "
                           "another output folder")


def read_entry(out: Path, name: str, limit: int) -> bytes | None:
    """The content of `out/name` (None when it does not exist), opened without following
    links, at most `limit` bytes (UnsafeOutput beyond)."""
    with output_folder(out) as folder:
        try:
            fd = open_entry(folder, out, name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except FileNotFoundError:
            return None
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise UnsafeOutput(f"{out / name} is larger than {limit >> 20} MiB; it is not a "
                           "napari-hcs file")
    return data


def check_tree(folder: Path) -> None:
    """Every entry below `folder` (links not followed): no symbolic link, no special file and
    no file with several names; UnsafeOutput naming the first found. For folders a resumed run
    writes into and its clean-up removes from."""
    try:
        top = os.lstat(folder)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(top.st_mode):
        raise UnsafeOutput(f"{folder} is a symbolic link; napari-hcs never follows links in "
                           "its output folder: remove it")
    if not stat.S_ISDIR(top.st_mode):
        check_own(top, folder)
        return
    for base, dirs, files in os.walk(folder):  # os.walk never descends into linked folders
        for name in (*dirs, *files):
            path = Path(base, name)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                raise UnsafeOutput(f"{path} is a symbolic link; napari-hcs never follows links "
                                   "in its output folder: remove it (or run without --resume)")
            if not stat.S_ISDIR(st.st_mode):
                check_own(st, path)
