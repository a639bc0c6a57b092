"""The writer's chunk files are exactly those zarr writes by itself (empty chunks skipped)."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from napari_hcs.engine.vfs import omezarr


def _zarr_default(path, arr, chunks):
    group = zarr.open_group(str(path), mode="w", zarr_format=2)
    array = group.create_array("0", shape=arr.shape, dtype=arr.dtype, chunks=chunks,
                               compressor=omezarr.Storage().compressors(), fill_value=0)
    array[...] = arr
    return path / "0"


def _files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.startswith(".z")}


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.uint16])
@pytest.mark.parametrize("case", ["dense", "empty_chunk", "negative_zero"])
def test_chunks_match_zarr_default(tmp_path, dtype, case):
    arr = np.arange(1, 2 * 40 * 36 + 1).reshape(2, 40, 36).astype(dtype)
    if case == "empty_chunk":
        arr[1, 16:32, 16:32] = 0
        arr[0, 32:, :] = 0  # an edge chunk
    if case == "negative_zero" and np.issubdtype(dtype, np.floating):
        arr[0, :16, :16] = -0.0  # bits differ from +0.0: zarr keeps this chunk
    storage = omezarr.Storage(levels=1, chunk_size=16)
    root = tmp_path / "plate.zarr"
    omezarr.create_plate(root, ["A01"])
    omezarr.write_field(root, "A01", 0, arr, storage=storage)
    ours = root / "A" / "1" / "0" / "0"
    expected = _zarr_default(tmp_path / "ref.zarr", arr, (1, 16, 16))
    assert _files(ours) == _files(expected)
    assert (ours / ".zarray").read_bytes() == (expected / ".zarray").read_bytes()
    np.testing.assert_array_equal(omezarr.read_field(root, "A01", 0), arr)


def test_has_empty_chunk_sees_bit_patterns():
    a = np.ones((1, 4, 4), np.float32)
    assert not omezarr._has_empty_chunk(a, (1, 2, 2))
    a[0, :2, :2] = -0.0
    assert not omezarr._has_empty_chunk(a, (1, 2, 2))
    a[0, :2, :2] = 0.0
    assert omezarr._has_empty_chunk(a, (1, 2, 2))
