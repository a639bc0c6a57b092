"""Well naming: the one place that turns `B03` into (row 1, column 2) and back.

Rows are letters like spreadsheet columns: A..Z, then AA, AB, .. (1536-well plates have 32 rows,
so AA..AF occur). Columns are 1-based numbers, zero-padded to two digits by default (`B03`).
Indices in this module are 0-based: `parse_well("A01") == (0, 0)`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .model import PlateError

_WELL = re.compile(r"^([A-Za-z]{1,3})0*(\d{1,3})$")


def row_letters(row: int) -> str:
    """0-based row index -> letters: 0 -> A, 25 -> Z, 26 -> AA, 27 -> AB."""
    if row < 0:
        raise ValueError(f"row index must be >= 0, got {row}")
    letters = ""
    n = row + 1  # bijective base 26: there is no "zero" letter
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


def row_index(letters: str) -> int:
    """Row letters -> 0-based index: A -> 0, Z -> 25, AA -> 26 (case-insensitive)."""
    if not letters or not letters.isalpha() or not letters.isascii():
        raise ValueError(f"not a row name: {letters!r}")
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - ord("A") + 1)
    return n - 1


def parse_well(name: str) -> tuple[int, int]:
    """`"B03"` -> (1, 2); also accepts `b3`, `B003`, `AA01`. Raises PlateError otherwise."""
    m = _WELL.match(name.strip())
    if not m or int(m.group(2)) < 1:
        raise PlateError(f"not a well name: {name!r} (expected row letters and a column: B03)")
    return row_index(m.group(1)), int(m.group(2)) - 1


def format_well(row: int, column: int, pad: int = 2) -> str:
    """(1, 2) -> `"B03"`; `pad` is the zero-padded width of the column number."""
    if column < 0:
        raise ValueError(f"column index must be >= 0, got {column}")
    return f"{row_letters(row)}{column + 1:0{pad}d}"


def normalize_well(name: str, pad: int = 2) -> str:
    """Canonical spelling of a well name: `b3` -> `B03`."""
    return format_well(*parse_well(name), pad=pad)


def well_sort_key(name: str) -> tuple[int, int]:
    """Sort key: row-major (A01, A02, .., B01), not as strings (`B2` < `B10`, `Z01` < `AA01`)."""
    return parse_well(name)


def sort_wells(names: Iterable[str]) -> tuple[str, ...]:
    """Unique well names in plate order."""
    return tuple(sorted(set(names), key=well_sort_key))


#: Standard plate formats as (rows, columns): 96, 384 and 1536 wells.
STANDARD_GRIDS: tuple[tuple[int, int], ...] = ((8, 12), (16, 24), (32, 48))


def standard_grid(names: Iterable[str]) -> tuple[int, int]:
    """(rows, columns) of the smallest standard plate holding the wells `names` (the wells'
    own extent when none does; (8, 12) for no wells)."""
    cells = [parse_well(n) for n in names]
    need_r = max((r for r, _ in cells), default=0) + 1
    need_c = max((c for _, c in cells), default=0) + 1
    for rows, columns in STANDARD_GRIDS:
        if need_r <= rows and need_c <= columns:
            return rows, columns
    return need_r, need_c
