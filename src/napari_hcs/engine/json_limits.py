"""Bounded JSON: what arrives from a socket is measured before it is parsed, and after.

`json.loads` holds the GIL for the whole parse and recurses once per nesting level, so hostile
input (a million tiny items, 100 000 nested brackets) can stall every other thread or raise
RecursionError. `loads_bounded` first counts with C-speed byte scans: the size, the number of
items (commas and brackets, an upper bound), and — only when there are more brackets than the
depth limit — the real nesting depth, with strings and escapes taken into account (numpy,
which leaves the GIL to other threads on large arrays). Only then does it parse.
`check_value` walks a parsed value without recursion and bounds its depth, size and strings.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np


class JsonLimitError(ValueError):
    """JSON that is malformed or over a limit; the text says which limit."""


_OPEN, _CLOSE, _QUOTE = (ord("["), ord("{")), (ord("]"), ord("}")), ord('"')


def nesting_depth(data: bytes) -> int:
    """The deepest nesting of arrays/objects in JSON text, ignoring brackets inside strings.

    Escapes go first, with two C-speed replaces: every `\\\\` pair (an escaped backslash), then
    every `\\"` left (an escaped quote). Then every quote opens or closes a string, and a bracket
    counts when an even number of quotes precedes it (numpy, which lets other threads run).
    """
    data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    a = np.frombuffer(data, np.uint8)
    quotes = np.flatnonzero(a == _QUOTE)
    opens = (a == _OPEN[0]) | (a == _OPEN[1])
    brackets = np.flatnonzero(opens | (a == _CLOSE[0]) | (a == _CLOSE[1]))
    outside = np.searchsorted(quotes, brackets, side="right") % 2 == 0
    steps = np.where(opens[brackets[outside]], 1, -1)
    return int(np.cumsum(steps).max(initial=0))


def loads_bounded(data: bytes, *, max_bytes: int, max_depth: int, max_items: int | None = None,
                  what: str = "message") -> Any:
    """Parse UTF-8 JSON `data` once it is known to be within the limits; JsonLimitError else.

    NaN and Infinity (not JSON) are refused.
    """
    if len(data) > max_bytes:
        raise JsonLimitError(f"{what} of {len(data)} bytes is over the limit of {max_bytes}")
    containers = data.count(b"[") + data.count(b"{")
    if max_items is not None and containers + data.count(b",") > max_items:
        raise JsonLimitError(f"{what} has more than {max_items} JSON items")
    if containers > max_depth:
        depth = nesting_depth(data)
        if depth > max_depth:
            raise JsonLimitError(f"{what} nests {depth} levels deep; the limit is {max_depth}")
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise JsonLimitError(f"{what} is not UTF-8 JSON: {str(exc)[:200]}") from None


def _refuse_constant(token: str) -> Any:
    raise ValueError(f"{token} is not a JSON number")


def check_value(value: Any, *, max_depth: int, max_values: int, max_string: int,
                max_bytes: int, what: str = "the value") -> None:
    """Raise JsonLimitError unless `value` is plain JSON data (dict with str keys, list, str,
    finite float, 64-bit int, bool, None) within the limits; stops at the first one exceeded,
    so a hostile value costs at most `max_values` steps."""
    values, size = 0, 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        values += 1
        if values > max_values:
            raise JsonLimitError(f"{what} has more than {max_values} values")
        if isinstance(item, (dict, list)):
            if depth > max_depth:
                raise JsonLimitError(f"{what} nests deeper than {max_depth} levels")
            if values + len(item) > max_values:
                raise JsonLimitError(f"{what} has more than {max_values} values")
            if isinstance(item, dict):
                for key in item:
                    if not isinstance(key, str):
                        raise JsonLimitError(f"{what}: object key {key!r:.40} is not a string")
                    if len(key) > max_string:
                        raise JsonLimitError(f"{what}: an object key is longer than "
                                             f"{max_string} characters")
                    size += len(key) + 4
            pending.extend((child, depth + 1) for child in
                           (item.values() if isinstance(item, dict) else item))
            size += 2
        elif isinstance(item, str):
            if len(item) > max_string:
                raise JsonLimitError(f"{what}: a string is longer than {max_string} characters")
            size += len(item) + 2
        elif item is None or isinstance(item, bool):
            size += 5
        elif isinstance(item, int):
            if not -(2**63) <= item < 2**63:
                raise JsonLimitError(f"{what}: integer {item:.3g} does not fit in 64 bits")
            size += 20
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise JsonLimitError(f"{what}: {item} is not a JSON number")
            size += 24
        else:
            raise JsonLimitError(f"{what}: a {type(item).__name__} is not a JSON value")
        if size > max_bytes:
            raise JsonLimitError(f"{what} is larger than {max_bytes} bytes")
