"""The structure of a TIFF checked before tifffile reads it: the IFD chain and tag sizes.

tifffile trusts a file's offsets: an IFD chain that points back at itself makes it walk forever
(100 % CPU), 100,000 IFDs in a 12 MB file become 100,000 pages decoded into one array, and a
tag may declare 2^32 values. `walk_ifds` reads only the IFD headers (a few bytes each) with a
visited set and a page limit, and checks that every IFD and every tag's values fit in the file,
so what tifffile is then given is finite and sized by the file itself. It reads classic and
BigTIFF, either byte order.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import BinaryIO

from . import limits
from .model import PlateError

#: Bytes per value of each TIFF field type (unknown types count as 1 byte).
_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4,
              16: 8, 17: 8, 18: 8}
MAX_TAGS = 4096  # entries in one IFD (real files have 10-40)


def walk_ifds(fh: BinaryIO, path: str | Path) -> int:
    """The number of pages (IFDs) of the open TIFF `fh`; PlateError naming `path` when the
    chain loops, holds more than `limits.MAX_TIFF_PAGES` pages, or points past the file."""
    size = os.fstat(fh.fileno()).st_size
    head = _read(fh, 0, 16, size, path, "header")
    order = {b"II": "<", b"MM": ">"}.get(head[:2])
    if order is None:
        raise PlateError(f"unreadable image {path}: not a TIFF file (it starts with "
                         f"{head[:4]!r})")
    magic = struct.unpack(order + "H", head[2:4])[0]
    if magic == 42:
        offset_format, count_format, entry_size = "I", "H", 12
        offset = struct.unpack(order + "I", head[4:8])[0]
    elif magic == 43 and len(head) == 16:
        offset_format, count_format, entry_size = "Q", "Q", 20
        offset = struct.unpack(order + "Q", head[8:16])[0]
    else:
        raise PlateError(f"unreadable image {path}: not a TIFF file (version {magic}, "
                         "not 42 or 43)")
    offset_size = struct.calcsize(offset_format)
    count_size = struct.calcsize(count_format)
    seen: set[int] = set()
    while offset:
        if offset in seen:
            raise PlateError(f"{path}: its chain of image directories (IFDs) loops back to "
                             f"byte {offset}; the file is damaged or hostile")
        seen.add(offset)
        if len(seen) > limits.MAX_TIFF_PAGES:
            raise PlateError(f"{path} has more than {limits.MAX_TIFF_PAGES} pages; an image of "
                             "a plate is one plane per file")
        count = struct.unpack(order + count_format,
                              _read(fh, offset, count_size, size, path, "IFD"))[0]
        if count > MAX_TAGS:
            raise PlateError(f"{path}: an IFD at byte {offset} declares {count} tags; the file "
                             "is damaged")
        body = _read(fh, offset + count_size, count * entry_size + offset_size, size, path,
                     "IFD")
        for i in range(count):
            entry = body[i * entry_size:(i + 1) * entry_size]
            tag, kind = struct.unpack(order + "HH", entry[:4])
            values = struct.unpack(order + offset_format, entry[4:4 + offset_size])[0]
            if values * _TYPE_SIZE.get(kind, 1) > size:
                raise PlateError(f"{path}: tag {tag} declares {values} values, more than the "
                                 f"file's {size} bytes can hold; the file is damaged")
        offset = struct.unpack(order + offset_format, body[-offset_size:])[0]
    return len(seen)


def _read(fh: BinaryIO, offset: int, length: int, size: int, path: str | Path,
          what: str) -> bytes:
    if offset + length > size and what != "header":
        raise PlateError(f"truncated image {path}: its {what} at byte {offset} runs past the "
                         f"end of the file ({size} bytes)")
    fh.seek(offset)
    data = fh.read(length)
    if what == "header" and len(data) < 8:
        raise PlateError(f"unreadable image {path}: {len(data)} bytes, too short for a TIFF")
    return data
