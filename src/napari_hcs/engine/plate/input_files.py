"""Opening a plate's files as untrusted input: regular files only, read with a bound.

A plate folder may hold anything its writer put there. A FIFO named like a tile blocks the
`open()` of every reader forever (and with it `napari-hcs info` or a server's validator
thread); a device or a folder is no image either. Every file a reader opens goes through
`open_regular`: opened with `O_NONBLOCK` (opening a FIFO then returns at once), checked with
`fstat` on the opened descriptor (no window between check and open), then switched back to
blocking reads. Links are followed: an input plate may link its folders elsewhere (confinement
to the server's roots is `engine.roots`' job).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from . import limits
from .model import PlateError

_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISDIR, "a folder"))


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words."""
    return next((text for test, text in _KINDS if test(mode)), "not a regular file")


def open_regular(path: str | Path) -> BinaryIO:
    """`path` opened for binary reading; PlateError naming it when it is missing or is not a
    regular file (never blocks on a FIFO)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) \
        | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise PlateError(f"missing image {path}") from None
    except OSError as exc:
        raise PlateError(f"cannot open {path}: {exc.strerror or exc}") from exc
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise PlateError(f"{path} is {kind_of(mode)}, not a regular file; a plate holds "
                             "only regular files (remove it, or copy the plate)")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb", buffering=0)  # tifffile reads pixels straight in
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | Path, limit: int = limits.MAX_METADATA_BYTES) -> bytes:
    """The whole content of a regular file of at most `limit` bytes; PlateError otherwise."""
    with open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > limit:
            raise PlateError(f"{path} is {size} bytes, more than the {limit >> 20} MiB a plate's "
                             "metadata file may have")
        data = fh.read(limit + 1)
    if len(data) > limit:  # it grew while we read it
        raise PlateError(f"{path} is more than {limit >> 20} MiB, too large for metadata")
    return data
