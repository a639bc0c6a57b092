"""What a received message must be before any receiver touches it (docs/wire.md, "Limits").

`protocol.decode` calls these on every header: each field a receiver reads has its exact JSON
type (an integer is never a bool or a string, a name never a list), every count and dimension
is bounded, buffer descriptions are unique and consistent, and the buffers' contents agree with
the header (rois offsets, table column lengths). So a sink can index without guarding, and a
malformed message is one `ProtocolError` naming the field, never a crash.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

VERSION = 1
KINDS = ("image", "labels", "rois", "table", "progress", "status")
# Names, not numpy's "<u2" codes, so a Java or JavaScript client maps them with a plain switch.
DTYPES = (
    "bool", "uint8", "int8", "uint16", "int16", "uint32", "int32",
    "uint64", "int64", "float32", "float64",
)
IMAGE_AXES = ("cyx", "czyx")
LABEL_AXES = ("yx", "zyx")
MAX_NDIM = 5
MAX_DIM = 2**31 - 1  # any one dimension or count
MAX_TEXT = 4096  # names, wells, steps, states, errors: characters

_COMMON = ("v", "kind", "name", "well")
_REQUIRED = {
    "image": ("shape", "dtype", "axes"),
    "labels": ("shape", "dtype", "axes"),
    "rois": ("n_polygons", "n_vertices", "buffers"),
    "table": ("n_rows", "columns", "buffers", "strings"),
    "progress": ("step", "index", "total", "state"),
    "status": ("status",),
}


class ProtocolError(ValueError):
    """A message that does not follow the wire protocol; the text says which field is wrong."""


def require(cond: bool, text: str) -> None:
    if not cond:
        raise ProtocolError(text)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_int(value: Any, low: int = 0, high: int = MAX_DIM) -> bool:
    return type(value) is int and low <= value <= high


def _is_text(value: Any, optional: bool = False) -> bool:
    return (optional and value is None) or (isinstance(value, str) and len(value) <= MAX_TEXT)


def check_header(header: Mapping[str, Any]) -> None:
    """Every field this kind of message needs, with its exact type and within its bounds."""
    missing = [k for k in _COMMON if k not in header]
    require(not missing, f"header lacks {', '.join(missing)}")
    require(type(header["v"]) is int and header["v"] == VERSION,
            f"unknown protocol version {_short(header['v'])} (this side speaks v{VERSION})")
    kind = header["kind"]
    require(isinstance(kind, str) and kind in KINDS,
            f"unknown message kind {_short(kind)}; known: {', '.join(KINDS)}")
    missing = [k for k in _REQUIRED[kind] if k not in header]
    require(not missing, f"{kind} header lacks {', '.join(missing)}")
    require(_is_text(header["name"]), f"{kind} header: name must be a string")
    require(_is_text(header["well"], optional=True),
            f"{kind} header: well must be a string or null")
    for key in ("site", "channel"):
        value = header.get(key)
        require(value is None or _is_text(value) or (type(value) is int and abs(value) < 2**31),
                f"{kind} header: {key} must be a string, an integer or null")
    require(_is_text(header.get("run"), optional=True), f"{kind} header: run must be a string")
    if kind in ("image", "labels"):
        _check_pixels(header, kind)
    elif kind == "rois":
        require(_is_int(header["n_polygons"]) and _is_int(header["n_vertices"]),
                "rois header: n_polygons and n_vertices must be non-negative integers")
    elif kind == "table":
        _check_table_header(header)
    elif kind == "progress":
        require(_is_int(header["index"], -MAX_DIM) and _is_int(header["total"], -MAX_DIM),
                "progress header: index and total must be integers")
        require(_is_text(header["step"]) and _is_text(header["state"]),
                "progress header: step and state must be strings")
    elif kind == "status":
        require(header["status"] in ("ok", "failed") and isinstance(header["status"], str),
                f"status header: status {_short(header['status'])} is not 'ok' or 'failed'")
        require(_is_text(header.get("error"), optional=True),
                "status header: error must be a string or null")


def _check_pixels(header: Mapping[str, Any], kind: str) -> None:
    axes = header["axes"]
    allowed = IMAGE_AXES if kind == "image" else LABEL_AXES
    require(isinstance(axes, str) and axes in allowed,
            f"{kind} header: axes {_short(axes)} not in {allowed}")
    shape = header["shape"]
    # An image has at least one pixel; then its byte size bounds every dimension.
    require(isinstance(shape, list) and len(shape) == len(axes)
            and all(_is_int(n, 1) for n in shape),
            f"{kind} header: shape {_short(shape)} must be {len(axes)} positive integers "
            f"(axes {axes!r})")
    dtype = header["dtype"]
    require(isinstance(dtype, str) and dtype in DTYPES,
            f"{kind} header: dtype {_short(dtype)} not allowed; allowed: {', '.join(DTYPES)}")
    require(kind == "image" or dtype[0] in "biu",
            f"labels header: dtype {dtype!r} is not an integer type")
    names = header.get("channel_names")
    require(names is None or (kind == "image" and isinstance(names, list)
                              and len(names) == shape[0] and all(map(_is_text, names))),
            f"image header: channel_names {_short(names)} must be {shape[0]} strings")
    size = header.get("pixel_size_um")
    require(size is None or (type(size) in (int, float) and math.isfinite(size) and size > 0),
            f"{kind} header: pixel_size_um {_short(size)} must be a positive number or null")
    if kind == "image":  # optional display hints: channel colours, contrast limits
        from .display import problem

        hints = problem(dict(header))
        require(hints is None, f"image header: {str(hints)[:300]}")


def _check_table_header(header: Mapping[str, Any]) -> None:
    n, columns, strings = header["n_rows"], header["columns"], header["strings"]
    require(_is_int(n), "table header: n_rows must be a non-negative integer")
    require(isinstance(columns, list) and all(map(_is_text, columns))
            and len(set(columns)) == len(columns),
            "table header: columns must be a list of distinct strings")
    require(isinstance(strings, dict) and all(
        isinstance(values, list) and all(v is None or isinstance(v, str) for v in values)
        for values in strings.values()),
        "table header: strings must map columns to lists of strings or nulls")


def buffer_specs(header: Mapping[str, Any]) -> list[dict]:
    """The buffers the header describes, in frame order, each checked."""
    kind = header["kind"]
    if kind in ("image", "labels"):
        return [{"name": "data", "dtype": header["dtype"], "shape": header["shape"]}]
    if kind not in ("rois", "table"):
        return []
    specs = header["buffers"]
    require(isinstance(specs, list) and all(isinstance(s, dict) for s in specs),
            f"{kind} header: buffers must be a list of objects")
    for spec in specs:
        require({"name", "dtype", "shape"} <= spec.keys(),
                f"{kind} header: buffer {_short(spec)} needs name, dtype and shape")
        require(_is_text(spec["name"]), f"{kind} header: a buffer name must be a string")
        require(isinstance(spec["dtype"], str) and spec["dtype"] in DTYPES,
                f"{kind} header: dtype {_short(spec['dtype'])} not allowed; allowed: "
                f"{', '.join(DTYPES)}")
        shape = spec["shape"]
        require(isinstance(shape, list) and len(shape) <= MAX_NDIM
                and all(_is_int(n) for n in shape),
                f"{kind} header: shape {_short(shape)} must be a list of at most {MAX_NDIM} "
                "non-negative integers")
    names = [s["name"] for s in specs]
    require(len(set(names)) == len(names), f"{kind} header: buffer names must be distinct")
    return specs


def check_contents(header: Mapping[str, Any], arrays: Mapping[str, np.ndarray],
                   where: str) -> None:
    """Cross-checks between header and buffers, so receivers can index without guarding."""
    kind = header["kind"]
    if kind == "rois":
        require(set(arrays) == {"offsets", "coords", "labels"},
                f"{where}: rois need buffers offsets, coords and labels")
        n, m = header["n_polygons"], header["n_vertices"]
        offsets = arrays["offsets"]
        require(offsets.dtype == np.int32 and offsets.shape == (n + 1,),
                f"{where}: offsets must be int32 of length n_polygons+1 = {n + 1}")
        require(arrays["coords"].dtype == np.float32 and arrays["coords"].shape == (m, 2),
                f"{where}: coords must be float32 of shape (n_vertices, 2) = ({m}, 2)")
        require(arrays["labels"].dtype == np.int32 and arrays["labels"].shape == (n,),
                f"{where}: labels must be int32 of length n_polygons = {n}")
        require(offsets[0] == 0 and offsets[-1] == m and bool(np.all(np.diff(offsets) >= 0)),
                f"{where}: offsets must rise from 0 to n_vertices")
    elif kind == "table":
        n, columns, strings = header["n_rows"], header["columns"], header["strings"]
        require(set(columns) == set(arrays) | set(strings) and not set(arrays) & set(strings),
                f"{where}: every column must be exactly one buffer or one string list")
        require(all(a.shape == (n,) for a in arrays.values())
                and all(len(s) == n for s in strings.values()),
                f"{where}: every column must have n_rows = {n} values")
