"""Zarr arrays written whole from a numpy array, without zarr: v2 (one file per chunk) and v3
with sharding (one file per shard, its chunks and an index inside), as zarr-python reads them.

Both lay chunks out as zarr does: keys separated by "/" (v2 `dimension_separator`, v3's
default chunk key encoding `c/0/1/2`), edge chunks stored whole and padded with the fill
value 0, chunks holding only the fill value left out (v3: an empty index entry; a shard with
no chunk at all is no file). Each chunk is compressed here by numcodecs: zarr would hand
every chunk to its event-loop thread and back, which costs more than compressing it at the
sizes of a well's mosaic (docs/performance.md, "Writing").
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

#: v3 sharding: an index entry of a chunk that is not stored (offset and size both 2**64-1).
_MISSING = np.uint64(2**64 - 1)


def _fill(arr: np.ndarray) -> Any:
    return 0.0 if arr.dtype.kind == "f" else 0


def _regions(shape: Sequence[int], chunks: Sequence[int],
             start: Sequence[int] | None = None, stop: Sequence[int] | None = None,
             ) -> Iterator[tuple[tuple[int, ...], tuple[slice, ...]]]:
    """(chunk index, region) of every chunk of `shape` between chunk indices start..stop."""
    start = start or [0] * len(shape)
    stop = stop or [-(-n // c) for n, c in zip(shape, chunks, strict=True)]
    for index in itertools.product(*(range(a, b) for a, b in zip(start, stop, strict=True))):
        yield index, tuple(slice(i * c, (i + 1) * c) for i, c in zip(index, chunks, strict=True))


def _encoded_chunks(arr: np.ndarray, chunks: Sequence[int], compressor: Any,
                    start: Sequence[int] | None = None, stop: Sequence[int] | None = None,
                    ) -> Iterator[tuple[tuple[int, ...], bytes | None]]:
    """(chunk index, compressed bytes) of each chunk; None for one holding only the fill
    value 0 as zarr judges it (integers: 0; floats: the bits of +0.0, so -0.0 is data)."""
    kind = arr.dtype.kind
    bits = arr.view(np.dtype(f"u{arr.dtype.itemsize}")) if kind == "f" else arr
    for index, region in _regions(arr.shape, chunks, start, stop):
        if kind in "fiub" and not bits[region].any():
            yield index, None
            continue
        block = arr[region]
        if block.shape != tuple(chunks):  # an edge chunk is stored whole, padded
            padded = np.zeros(chunks, arr.dtype)
            padded[tuple(slice(0, n) for n in block.shape)] = block
            block = padded
        data = np.ascontiguousarray(block)
        yield index, compressor.encode(data) if compressor else data.tobytes()


def write_array_v2(folder: Any, arr: np.ndarray, chunks: tuple[int, ...], compressor: Any,
                   ) -> None:
    """One zarr v2 array into `folder` (a `location` folder): `.zarray`, `.zattrs` and one
    file per chunk named by its indices joined by "/"."""
    arr = np.ascontiguousarray(arr)
    folder.make()
    for index, payload in _encoded_chunks(arr, chunks, compressor):
        if payload is not None:
            folder.put("/".join(map(str, index)), payload)
    folder.write_json(".zarray", {
        "shape": list(arr.shape), "chunks": list(chunks), "dtype": arr.dtype.str,
        "fill_value": _fill(arr), "order": "C", "filters": None, "dimension_separator": "/",
        "compressor": compressor.get_config() if compressor else None, "zarr_format": 2,
    })
    folder.write_json(".zattrs", {})


def shard_shape(shape: Sequence[int], chunks: Sequence[int], shard_chunks: int) -> tuple[int, ...]:
    """A shard: one plane of the leading axes (as a chunk is), and `shard_chunks` chunks in
    y and x, cut to the chunks that cover the array (a small image is one shard per plane)."""
    yx = [min(shard_chunks, -(-n // c)) * c for n, c in zip(shape[-2:], chunks[-2:],
                                                            strict=True)]
    return (*chunks[:-2], *yx)


def write_array_v3(folder: Any, arr: np.ndarray, chunks: tuple[int, ...],
                   shard: tuple[int, ...], compressor: Any, codec: dict[str, Any] | None,
                   dimension_names: Sequence[str]) -> None:
    """One zarr v3 array with the `sharding_indexed` codec into `folder`: `zarr.json` and one
    file per shard (`c/0/1/2`): its chunks compressed by `compressor` (described to readers
    by `codec`, the v3 codec of the same bytes), then the index at the end, each chunk's
    (offset, size) as little-endian uint64 followed by its CRC32C."""
    import google_crc32c  # zarr's own dependency (its crc32c codec): 12 ms to import

    arr = np.ascontiguousarray(arr)
    folder.make()
    per_shard = [s // c for s, c in zip(shard, chunks, strict=True)]
    for shard_index, _ in _regions(arr.shape, shard):
        first = [i * n for i, n in zip(shard_index, per_shard, strict=True)]
        last = [min(f + n, -(-size // c)) for f, n, size, c in
                zip(first, per_shard, arr.shape, chunks, strict=True)]
        index = np.full((*per_shard, 2), _MISSING, np.uint64)
        parts, offset = [], 0
        for chunk_index, payload in _encoded_chunks(arr, chunks, compressor, first, last):
            if payload is None:
                continue
            local = tuple(i - f for i, f in zip(chunk_index, first, strict=True))
            index[local] = (offset, len(payload))
            parts.append(payload)
            offset += len(payload)
        if not parts:  # no chunk holds data: the shard is not stored at all
            continue
        table = index.astype("<u8").tobytes()
        parts += [table, google_crc32c.value(table).to_bytes(4, "little")]
        folder.put("/".join(["c", *map(str, shard_index)]), b"".join(parts))
    inner = [{"name": "bytes", "configuration": {"endian": "little"}}]
    folder.write_json("zarr.json", {
        "zarr_format": 3, "node_type": "array", "shape": list(arr.shape),
        "data_type": arr.dtype.name,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(shard)}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": _fill(arr),
        "codecs": [{"name": "sharding_indexed", "configuration": {
            "chunk_shape": list(chunks),
            "codecs": inner + ([codec] if codec else []),
            "index_codecs": [*inner, {"name": "crc32c"}],
            "index_location": "end",
        }}],
        "attributes": {}, "dimension_names": list(dimension_names),
        "storage_transformers": [],
    })
