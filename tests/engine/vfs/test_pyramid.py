"""Pyramids: one downsampling rule for images and labels; chunk files exactly those zarr
writes by itself (empty chunks skipped); a codec Java and Python readers decode."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from napari_hcs.engine.vfs import omezarr, pyramid


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
    assert not pyramid.has_empty_chunk(a, (1, 2, 2))
    a[0, :2, :2] = -0.0
    assert not pyramid.has_empty_chunk(a, (1, 2, 2))
    a[0, :2, :2] = 0.0
    assert pyramid.has_empty_chunk(a, (1, 2, 2))


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

    from napari_hcs.engine.vfs.pyramid import write_array_v2

    rng = np.random.default_rng(0)
    image = rng.integers(0, 4000, (2, 37, 53)).astype(np.uint16)
    float_image = np.pad(rng.random((10, 10)).astype(np.float32), 20)  # empty chunks around
    for name, arr, chunks in (("u16", image, (1, 16, 16)), ("zeros", np.zeros((40, 40), "i4"),
                              (16, 16)), ("f32", float_image, (16, 16))):
        write_array_v2(tmp_path / name, arr, chunks, numcodecs.Blosc("lz4", 3, 2))
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
