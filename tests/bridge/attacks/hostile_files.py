"""Hand-built hostile files for the attack suite: TIFFs whose headers lie (a looping IFD chain,
100,000 pages, a small file declaring a giant image, a strip of 0 bytes), written byte by byte
because no writer produces them."""

from __future__ import annotations

import struct
from pathlib import Path

SHORT, LONG = 3, 4


def _ifd(entries: list[tuple[int, int, int]], next_offset: int) -> bytes:
    """A classic little-endian IFD: (tag, type, value) entries, one value each."""
    body = struct.pack("<H", len(entries))
    for tag, kind, value in sorted(entries):
        packed = struct.pack("<H", value) + b"\0\0" if kind == SHORT else struct.pack("<I", value)
        body += struct.pack("<HHI", tag, kind, 1) + packed
    return body + struct.pack("<I", next_offset)


def _entries(height: int, width: int, offset: int, count: int,
             compression: int = 1) -> list[tuple[int, int, int]]:
    return [(256, LONG, width), (257, LONG, height), (258, SHORT, 16),
            (259, SHORT, compression), (262, SHORT, 1), (273, LONG, offset),
            (277, SHORT, 1), (278, LONG, height), (279, LONG, count)]


IFD_SIZE = 2 + 9 * 12 + 4


def tiff_pages(path: Path, pages: int, *, height: int = 8, width: int = 8,
               loop: bool = False, pixel_bytes: int | None = None, byte_count: int | None = None,
               compression: int = 1) -> Path:
    """`pages` IFDs sharing one strip of pixels; `loop`: the last IFD points back at the first.
    `pixel_bytes` is how many pixel bytes the file holds, `byte_count` what the IFDs declare."""
    data_size = height * width * 2 if pixel_bytes is None else pixel_bytes
    count = data_size if byte_count is None else byte_count
    data_offset = 8
    first_ifd = 8 + data_size + (data_size & 1)
    out = bytearray(b"II*\0" + struct.pack("<I", first_ifd))
    out += bytes(data_size) + b"\0" * (data_size & 1)
    for i in range(pages):
        here = first_ifd + i * IFD_SIZE
        last = i == pages - 1
        following = (first_ifd if loop else 0) if last else here + IFD_SIZE
        out += _ifd(_entries(height, width, data_offset, count, compression), following)
    path.write_bytes(bytes(out))
    return path
