"""The wire protocol: a JSON header frame, then raw little-endian buffers (docs/wire.md).

Every message is a ZMQ multipart message. Frame 0 is a UTF-8 JSON object with at least
`v`, `kind`, `name` and `well`; frames 1.. are C-ordered little-endian buffers that the header
describes. Encoders return frames that share memory with the caller's numpy arrays (send them
with `copy=False`), and `decode` wraps received frames with `np.frombuffer` — no copy, and
nothing is ever unpickled: a header is JSON, a buffer is only ever read as numbers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine.json_limits import JsonLimitError, loads_bounded
from . import display
from .wire_checks import (
    DTYPES,
    IMAGE_AXES,
    KINDS,
    LABEL_AXES,
    MAX_NDIM,
    VERSION,
    ProtocolError,
    buffer_specs,
    check_contents,
    check_header,
)

MAX_HEADER_BYTES = 16 * 1024 * 1024  # string table columns travel in the header
MAX_HEADER_DEPTH = 16  # a header nests 4 levels (table strings, buffer shapes); extras a few
MAX_FRAMES = 16385  # a header + up to 16384 buffers: one per numeric table column (a
# per-well profile of 5 channels x 3 object sets has ~10,000 columns)
MAX_MESSAGE_BYTES = 2 * 1024**3

__all__ = ["DTYPES", "IMAGE_AXES", "KINDS", "LABEL_AXES", "MAX_FRAMES", "MAX_HEADER_BYTES",
           "MAX_MESSAGE_BYTES", "MAX_NDIM", "VERSION", "Message", "ProtocolError", "decode",
           "encode_image", "encode_labels", "encode_progress", "encode_rois", "encode_status",
           "encode_table", "to_host_array"]


@dataclass
class Message:
    """A decoded message: the header and its buffers as read-only arrays, keyed by buffer name.

    Images and labels have one array, `data`; rois have `offsets`, `coords`, `labels`; a table
    has one array per numeric column (string columns stay in `header["strings"]`).
    """

    header: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.header["kind"]

    @property
    def well(self) -> str | None:
        return self.header.get("well")

    @property
    def name(self) -> str:
        return self.header["name"]

    @property
    def data(self) -> np.ndarray:
        """The pixels of an image or labels message."""
        return self.arrays["data"]

    def polygons(self) -> list[np.ndarray]:
        """A rois message as a list of (K, 2) float32 (y, x) vertex arrays (views, no copy)."""
        offsets, coords = self.arrays["offsets"], self.arrays["coords"]
        return [coords[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]

    def columns(self) -> dict[str, Any]:
        """A table message as {column: ndarray or list of str}, in the sender's column order."""
        strings = self.header["strings"]
        return {c: self.arrays[c] if c in self.arrays else strings[c]
                for c in self.header["columns"]}

    def to_dataframe(self):  # -> pandas.DataFrame; pandas is imported only when asked
        import pandas as pd

        return pd.DataFrame(self.columns())


# ---------------------------------------------------------------- encoding


def to_host_array(array: Any) -> np.ndarray:
    """A C-contiguous little-endian numpy view of `array` (copying only when it must).

    torch and cupy arrays are copied to host memory; they are recognised by module name so this
    module imports neither.
    """
    module = type(array).__module__.split(".")[0]
    if module == "torch":
        array = array.detach().cpu().numpy()
    elif module == "cupy":
        array = array.get()
    array = np.asarray(array)
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    if _dtype_name(array.dtype) is None:
        raise ProtocolError(f"dtype {array.dtype} cannot be sent; allowed: {', '.join(DTYPES)}")
    return np.ascontiguousarray(array)


def _dtype_name(dtype: np.dtype) -> str | None:
    name = np.dtype(dtype).name
    return name if name in DTYPES else None


def _header(kind: str, name: str, well: str | None, site=None, channel=None, **extra) -> dict:
    header = {"v": VERSION, "kind": kind, "name": name, "well": well, "site": site,
              "channel": channel}
    header.update(extra)
    return header


def _frames(header: dict, buffers: Sequence[np.ndarray] = ()) -> list:
    # A memoryview of a contiguous array is the array's own memory: zmq sends it zero-copy.
    head = json.dumps(header, allow_nan=False).encode()
    return [head] + [memoryview(b.reshape(-1).view(np.uint8)) for b in buffers]


def _describe(name: str, array: np.ndarray) -> dict:
    return {"name": name, "dtype": _dtype_name(array.dtype), "shape": list(array.shape)}


def encode_image(
    image: Any,
    *,
    name: str,
    well: str | None,
    channel_names: Sequence[str] | None = None,
    pixel_size_um: float | None = None,
    site: Any = None,
    axes: str | None = None,
    channel_colors: Sequence[str] | None = None,
    contrast_limits: Sequence[Sequence[float]] | None = None,
    **extra: Any,
) -> list:
    """A (C, Y, X) or (C, Z, Y, X) image; a 2-D (Y, X) image is sent as one channel.

    `channel_colors` ("#RRGGBB") and `contrast_limits` ([lo, hi]), one per channel, are the
    optional display hints of `bridge.display`."""
    data = to_host_array(image)
    if data.ndim == 2:
        data = data[None]
    axes = axes or ("cyx" if data.ndim == 3 else "czyx")
    if axes not in IMAGE_AXES or len(axes) != data.ndim:
        raise ProtocolError(f"image {name!r} of well {well}: shape {data.shape} with axes "
                            f"{axes!r}; expected (C,Y,X) 'cyx' or (C,Z,Y,X) 'czyx'")
    names = [str(c) for c in channel_names] if channel_names is not None else None
    if names is not None and len(names) != data.shape[0]:
        raise ProtocolError(f"image {name!r} of well {well}: {len(names)} channel names for "
                            f"{data.shape[0]} channels")
    header = _header("image", name, well, site, None, shape=list(data.shape),
                     dtype=_dtype_name(data.dtype), axes=axes, channel_names=names,
                     pixel_size_um=None if pixel_size_um is None else float(pixel_size_um),
                     **extra)
    if channel_colors is not None:
        header["channel_colors"] = [str(c) for c in channel_colors]
    if contrast_limits is not None:
        header["contrast_limits"] = [[float(lo), float(hi)] for lo, hi in contrast_limits]
    problem = display.problem(header)
    if problem:
        raise ProtocolError(f"image {name!r} of well {well}: {problem}")
    return _frames(header, [data])


def encode_labels(labels: Any, *, name: str, well: str | None, site: Any = None,
                  pixel_size_um: float | None = None, **extra: Any) -> list:
    """An integer label image, (Y, X) or (Z, Y, X)."""
    data = to_host_array(labels)
    if data.ndim not in (2, 3) or data.dtype.kind not in "biu":
        raise ProtocolError(f"labels {name!r} of well {well}: need a 2-D or 3-D integer array, "
                            f"got {data.dtype} {data.shape}")
    header = _header("labels", name, well, site, None, shape=list(data.shape),
                     dtype=_dtype_name(data.dtype), axes=LABEL_AXES[data.ndim - 2],
                     pixel_size_um=None if pixel_size_um is None else float(pixel_size_um),
                     **extra)
    return _frames(header, [data])


def encode_rois(polygons: Sequence[Any], *, name: str, well: str | None,
                labels: Sequence[int] | None = None, site: Any = None, **extra: Any) -> list:
    """Polygons as three buffers: int32 offsets (N+1), float32 (M, 2) y,x coords, int32 labels (N).

    Polygon i is `coords[offsets[i]:offsets[i+1]]`; `labels[i]` is its label id (default i+1).
    """
    parts = [np.asarray(to_host_array(p), dtype="<f4").reshape(-1, 2) for p in polygons]
    counts = np.array([len(p) for p in parts], dtype=np.int64)
    offsets = np.zeros(len(parts) + 1, dtype="<i4")
    offsets[1:] = np.cumsum(counts)
    coords = np.concatenate(parts) if parts else np.zeros((0, 2), "<f4")
    ids = np.arange(1, len(parts) + 1) if labels is None else np.asarray(labels)
    if len(ids) != len(parts):
        raise ProtocolError(f"rois {name!r} of well {well}: {len(ids)} labels for "
                            f"{len(parts)} polygons")
    ids = ids.astype("<i4")
    buffers = {"offsets": offsets, "coords": coords, "labels": ids}
    header = _header("rois", name, well, site, None, n_polygons=len(parts),
                     n_vertices=int(len(coords)),
                     buffers=[_describe(k, v) for k, v in buffers.items()], **extra)
    return _frames(header, list(buffers.values()))


def encode_table(table: Any, *, name: str, well: str | None, **extra: Any) -> list:
    """A table (pandas DataFrame or {column: sequence}).

    Numeric and bool columns become buffers; every other column is sent as a JSON list of
    strings (null for missing values) in `header["strings"]`.
    """
    columns = {str(k): table[k] for k in table.keys()}
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise ProtocolError(f"table {name!r} of well {well}: columns have different lengths")
    buffers, described, strings = [], [], {}
    for col, values in columns.items():
        array = np.asarray(values)
        if array.dtype.kind in "biuf" and _dtype_name(array.dtype.newbyteorder("=")):
            array = to_host_array(array)
            buffers.append(array)
            described.append(_describe(col, array))
        else:
            strings[col] = [None if _missing(v) else str(v) for v in values]
    header = _header("table", name, well, None, None, n_rows=lengths.pop() if lengths else 0,
                     columns=list(columns), buffers=described, strings=strings, **extra)
    return _frames(header, buffers)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def encode_progress(*, well: str | None, step: str, index: int, total: int, state: str,
                    name: str = "progress", **extra: Any) -> list:
    """One progress event (no buffers)."""
    return _frames(_header("progress", name, well, step=str(step), index=int(index),
                           total=int(total), state=str(state), **extra))


def encode_status(*, well: str | None, status: str, error: str | None = None,
                  name: str = "status", **extra: Any) -> list:
    """The last message for a well: `status` is "ok" or "failed", `error` the reason."""
    return _frames(_header("status", name, well, status=str(status), error=error, **extra))


# ---------------------------------------------------------------- decoding


def _buffer(frame: Any) -> memoryview:
    # zmq.Frame (recv with copy=False) exposes .buffer; bytes/bytearray/memoryview are buffers.
    view = memoryview(frame.buffer if hasattr(frame, "buffer") else frame)
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view


def decode(frames: Sequence[Any], *, max_bytes: int = MAX_MESSAGE_BYTES) -> Message:
    """Validate and decode one multipart message; raise ProtocolError saying what is wrong.

    Sizes and the header's JSON depth are bounded before it is parsed; then every field is
    checked (`wire_checks`) before a buffer is wrapped, so nothing else can be raised.
    """
    if not frames:
        raise ProtocolError("empty message")
    if len(frames) > MAX_FRAMES:
        raise ProtocolError(f"too many frames: {len(frames)} > {MAX_FRAMES}")
    views = [_buffer(f) for f in frames]
    total = sum(v.nbytes for v in views)
    if total > max_bytes:
        raise ProtocolError(f"message of {total} bytes is over the limit of {max_bytes}")
    try:
        header = loads_bounded(bytes(views[0]), max_bytes=MAX_HEADER_BYTES,
                               max_depth=MAX_HEADER_DEPTH, what="header")
    except JsonLimitError as exc:
        raise ProtocolError(str(exc)) from None
    if not isinstance(header, dict):
        raise ProtocolError("header is not a JSON object")
    check_header(header)
    specs = buffer_specs(header)
    where = f"{header['kind']} {header['name'][:80]!r} of well {header['well']}"
    if len(views) - 1 != len(specs):
        raise ProtocolError(f"{where}: {len(views) - 1} buffer frames, header describes "
                            f"{len(specs)}")
    arrays = {}
    for spec, view in zip(specs, views[1:], strict=True):
        dtype = np.dtype(spec["dtype"]).newbyteorder("<")
        expected = math.prod(spec["shape"]) * dtype.itemsize
        if view.nbytes != expected:
            raise ProtocolError(f"{where}: buffer {spec['name'][:80]!r} has {view.nbytes} bytes, "
                                f"shape {spec['shape']} {spec['dtype']} needs {expected}")
        arrays[spec["name"]] = np.frombuffer(view, dtype=dtype).reshape(spec["shape"])
    check_contents(header, arrays, where)
    return Message(header, arrays)
