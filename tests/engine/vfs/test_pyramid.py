"""Pyramids: one downsampling rule for images and labels; chunk files exactly those zarr
writes by itself (empty chunks skipped); a codec Java and Python readers decode."""

from __future__ import annotations

import json

import numpy as np
import pytest
import zarr

from napari_hcs.engine.vfs import omezarr, pyramid


def _zarr_default(path, arr, chunks, shards=None):
    """The same array written by zarr-python: v2 with "/" keys, or v3 sharded."""
    storage = omezarr.Storage()
    if shards is None:
        group = zarr.open_group(str(path), mode="w", zarr_format=2)
        array = group.create_array("0", shape=arr.shape, dtype=arr.dtype, chunks=chunks,
                                   compressors=storage.compressors(), fill_value=0,
                                   chunk_key_encoding={"name": "v2", "separator": "/"})
    else:
        group = zarr.open_group(str(path), mode="w", zarr_format=3)
        array = group.create_array(
            "0", shape=arr.shape, dtype=arr.dtype, chunks=chunks, shards=shards, fill_value=0,
            compressors=zarr.codecs.BloscCodec(cname="lz4", clevel=3, shuffle="bitshuffle"),
            dimension_names=["c", "y", "x"])
    array[...] = arr
    return path / "0"


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and not p.name.startswith(".z") and p.name != "zarr.json"}


def _case(dtype, case):
    arr = np.arange(1, 2 * 40 * 36 + 1).reshape(2, 40, 36).astype(dtype)
    if case == "empty_chunk":
        arr[1, 16:32, 16:32] = 0
        arr[0, 32:, :] = 0  # an edge chunk
    if case == "negative_zero" and np.issubdtype(dtype, np.floating):
        arr[0, :16, :16] = -0.0  # bits differ from +0.0: zarr keeps this chunk
    return arr


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.uint16])
@pytest.mark.parametrize("case", ["dense", "empty_chunk", "negative_zero"])
def test_v2_chunks_match_zarr_default(tmp_path, dtype, case):
    arr = _case(dtype, case)
    storage = omezarr.Storage(levels=1, chunk_size=16)
    root = tmp_path / "plate.zarr"
    omezarr.create_plate(root, ["A01"], version="0.4")
    omezarr.write_field(root, "A01", 0, arr, storage=storage)
    ours = root / "A" / "1" / "0" / "0"
    expected = _zarr_default(tmp_path / "ref.zarr", arr, (1, 16, 16))
    assert _files(ours) == _files(expected) and "0/0/0" in _files(ours)  # "/" keys
    assert json.loads((ours / ".zarray").read_text()) == json.loads(
        (expected / ".zarray").read_text())
    np.testing.assert_array_equal(omezarr.read_field(root, "A01", 0), arr)


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.uint16])
@pytest.mark.parametrize("case", ["dense", "empty_chunk", "negative_zero"])
def test_v3_shards_hold_what_zarr_writes(tmp_path, dtype, case):
    """Shards as zarr-python writes them: the same metadata, the same shard files and in each
    the same chunks (zarr orders a shard's chunks along a Morton curve, we in C order: the
    index says where each one is), empty chunks and empty shards left out."""
    arr = _case(dtype, case)
    storage = omezarr.Storage(levels=1, chunk_size=16, shard_chunks=2)
    root = tmp_path / "plate.zarr"
    omezarr.create_plate(root, ["A01"], version="0.5")
    omezarr.write_field(root, "A01", 0, arr, storage=storage)
    ours = root / "A" / "1" / "0" / "0"
    expected = _zarr_default(tmp_path / "ref.zarr", arr, (1, 16, 16), shards=(1, 32, 32))
    meta = json.loads((ours / "zarr.json").read_text())
    assert meta == json.loads((expected / "zarr.json").read_text())
    assert sorted(_files(ours)) == sorted(_files(expected))  # shards "c/0/1/1", ...
    theirs = zarr.open_array(str(expected), mode="r")
    mine = zarr.open_array(str(ours), mode="r")
    np.testing.assert_array_equal(mine[...], arr)
    for index in np.ndindex(*mine.cdata_shape):  # every chunk decodes to zarr's
        region = tuple(slice(i * c, (i + 1) * c) for i, c in zip(index, (1, 16, 16),
                                                                  strict=True))
        np.testing.assert_array_equal(mine[region], theirs[region])


@pytest.mark.parametrize("shape", [(485, 491), (1433, 1440), (720, 720), (257, 3)])
def test_images_and_labels_share_level_shapes(shape):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 4000, (2, *shape), dtype=np.uint16)
    labels = rng.integers(0, 50, shape, dtype=np.int32)
    images = pyramid.levels(image, labels=False, most=4)
    masks = pyramid.levels(labels, labels=True, most=4)
    assert [a.shape[-2:] for a in images] == [m.shape for m in masks]
    for a in images[1:]:  # each level halves y and x, rounding up
        assert a.dtype == np.uint16
    for prev, nxt in zip(masks, masks[1:], strict=False):
        assert nxt.shape == tuple(-(-n // 2) for n in prev.shape)
    assert set(np.unique(masks[-1])) <= set(np.unique(labels))


def test_level_two_of_a_720_field_is_180_and_means_blocks():
    image = np.arange(16, dtype=np.uint16).reshape(1, 4, 4)
    half = pyramid.downsample(image, labels=False)
    np.testing.assert_array_equal(half[0], [[2, 4], [10, 12]])  # rint of 2.5, 4.5, ...
    odd = np.array([[[1, 3, 5]]], dtype=np.float32)  # the last column is repeated
    np.testing.assert_allclose(pyramid.downsample(odd, labels=False), [[[2.0, 5.0]]])
    assert [a.shape for a in pyramid.levels(np.zeros((720, 720), np.int32), True, 3)] == [
        (720, 720), (360, 360), (180, 180)]


def test_blosc_is_the_default_codec_and_names_are_checked():
    import numcodecs

    codec = omezarr.Storage().compressors()  # lz4 with bit shuffle: the fastest to write
    assert isinstance(codec, numcodecs.Blosc) and codec.cname == "lz4"
    assert codec.shuffle == numcodecs.Blosc.BITSHUFFLE
    assert omezarr.Storage(compression="blosc").compressors().cname == "zstd"
    with pytest.raises(ValueError, match="blosc"):
        omezarr.Storage(compression="brotli").compressors()


def test_integer_pyramid_equals_the_rounded_float_mean():
    from napari_hcs.engine.vfs.pyramid import downsample

    rng = np.random.default_rng(4)
    for dtype in (np.uint16, np.uint8, np.int16, np.int8):
        info = np.iinfo(dtype)
        image = rng.integers(info.min, info.max, (2, 41, 37), endpoint=True).astype(dtype)
        image[0, :4, :4] = info.max  # the largest sums
        padded = np.pad(image, [(0, 0), (0, 1), (0, 1)], mode="edge")
        mean = padded.astype(np.float32).reshape(2, 21, 2, 19, 2).mean(axis=(-3, -1))
        np.testing.assert_array_equal(downsample(image, False), np.rint(mean).astype(dtype))


def test_our_v2_arrays_read_back_through_zarr(tmp_path):
    import numcodecs

    from napari_hcs.engine.vfs.location import LocalFolder
    from napari_hcs.engine.vfs.zarr_arrays import write_array_v2

    rng = np.random.default_rng(0)
    image = rng.integers(0, 4000, (2, 37, 53)).astype(np.uint16)
    float_image = np.pad(rng.random((10, 10)).astype(np.float32), 20)  # empty chunks around
    for name, arr, chunks in (("u16", image, (1, 16, 16)), ("zeros", np.zeros((40, 40), "i4"),
                              (16, 16)), ("f32", float_image, (16, 16))):
        write_array_v2(LocalFolder(tmp_path / name), arr, chunks, numcodecs.Blosc("lz4", 3, 2))
        back = zarr.open_array(str(tmp_path / name), mode="r", zarr_format=2)
        assert back.chunks == chunks and back.dtype == arr.dtype
        np.testing.assert_array_equal(back[...], arr)
    assert not list((tmp_path / "zeros").glob("[0-9]*"))  # only-fill chunks are left out


@pytest.mark.parametrize("shape", [(2, 40, 37), (2, 41, 36), (1, 3, 9, 11), (2, 1, 1)])
def test_integer_pyramid_of_every_parity_and_leading_axes(shape):
    from napari_hcs.engine.vfs.pyramid import downsample

    image = np.random.default_rng(5).integers(0, 65535, shape, endpoint=True).astype(np.uint16)
    y, x = shape[-2:]
    pad = [(0, 0)] * (len(shape) - 2) + [(0, y % 2), (0, x % 2)]
    padded = np.pad(image, pad, mode="edge").astype(np.float64)
    blocks = padded.reshape(*shape[:-2], (y + 1) // 2, 2, (x + 1) // 2, 2)
    expected = np.rint(blocks.mean(axis=(-3, -1))).astype(np.uint16)
    np.testing.assert_array_equal(downsample(image, False), expected)
