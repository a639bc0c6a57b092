"""The plate view's geometry and multiscale canvas: pure, no viewer."""

from __future__ import annotations

import numpy as np
import pytest

from napari_hcs.napari.plate_view.geometry import (
    PlateGeometry,
    grid_holding,
    mosaic_shape,
    site_offsets,
)
from napari_hcs.napari.plate_view.loader import (
    BackgroundJobs,
    downsample,
    pyramid_blocks,
)
from napari_hcs.napari.plate_view.tiled_pyramid import BlockStore, TiledPyramid


def test_geometry_cells_divide_every_level():
    g = PlateGeometry.for_wells((1000, 1500), 8, 12, pixel_size_um=0.5)
    assert g.levels >= 2 and max(g.shape(g.levels - 1)) <= 2048
    for level in range(g.levels):
        assert g.cell(level)[0] * 2 ** level == g.pitch[0]
        assert g.shape(level) == (8 * g.cell(level)[0], 12 * g.cell(level)[1])
    assert g.pitch[0] > 1000 and g.pitch[1] > 1500  # the well plus a gap
    assert g.origin("H12") == (7 * g.pitch[0], 11 * g.pitch[1])
    assert g.well_at(7 * g.pitch[0] + 3, 11 * g.pitch[1] + 3) == "H12"
    assert g.well_at(8 * g.pitch[0], 0) is None
    assert g.scale == (0.5, 0.5) and g.units == ("micrometer", "micrometer")
    assert g.world_to_well(*(v * 0.5 for v in g.origin("C05"))) == "C05"
    top, left, bottom, right = g.well_box("B02")
    assert (bottom - top, right - left) == (500.0, 750.0)
    assert PlateGeometry.for_wells((10, 10), 2, 3).units == ("pixel", "pixel")


def test_geometry_grows_through_plate_formats_keeping_the_pitch():
    g = PlateGeometry.for_wells((100, 100), 8, 12)
    bigger = g.grown_to(10, 0)  # row K: a 384-well plate
    assert (bigger.rows, bigger.columns) == (16, 24) and bigger.pitch == g.pitch
    assert grid_holding([(0, 0)]) == (8, 12) and grid_holding([(15, 23)]) == (16, 24)


def test_site_offsets_and_mosaic():
    positions = {1: (10.0, 20.0), 2: (10.0, 56.0), 3: (38.0, 20.0), 4: (38.0, 56.0)}
    offsets = site_offsets(positions, [1, 2, 3, 4], (32, 40))
    assert offsets == {1: (0.0, 0.0), 2: (0.0, 36.0), 3: (28.0, 0.0), 4: (28.0, 36.0)}
    assert mosaic_shape(offsets, (32, 40)) == (60, 76)
    assert site_offsets({}, [1, 2, 3, 4], (32, 40))[4] == (32.0, 40.0)  # no stage positions


def _filled(geometry: PlateGeometry, wells: dict[str, int]) -> tuple[TiledPyramid, np.ndarray]:
    """A pyramid whose wells hold a ramp + a per-well offset, and the dense level-0 canvas."""
    pyramid = TiledPyramid(geometry, np.uint16, wells=list(wells))
    dense = np.zeros(geometry.shape(0), np.uint16)
    h, w = geometry.well_shape
    for well, value in wells.items():
        block = (np.arange(h * w, dtype=np.uint16).reshape(h, w) % 97) + value
        pyramid.put_well(well, pyramid_blocks(block, geometry.levels))
        y, x = geometry.origin(well)
        dense[y:y + h, x:x + w] = block
    return pyramid, dense


def test_levels_slice_like_the_dense_canvas():
    g = PlateGeometry.for_wells((400, 560), 2, 3)
    assert g.levels >= 2
    pyramid, dense = _filled(g, {"A01": 1000, "B03": 2000})
    level0 = pyramid.levels[0]
    assert level0.shape == dense.shape and level0.dtype == np.uint16
    for key in (np.s_[:, :], np.s_[5:70, 30:150], np.s_[::3, 7::5], np.s_[g.pitch[0] + 2],
                np.s_[..., 3:9]):
        np.testing.assert_array_equal(np.asarray(level0[key]), dense[key])
    assert level0[g.pitch[0] + 1, 2 * g.pitch[1] + 1] == dense[g.pitch[0] + 1, 2 * g.pitch[1] + 1]
    window = level0[10:60, 20:90]  # napari cuts the visible region first, then the plane
    assert window.shape == (50, 70)
    np.testing.assert_array_equal(np.asarray(window[5:10, ::2]), dense[15:20, 20:90:2])
    coarse = np.asarray(pyramid.levels[1])
    assert coarse.shape == g.shape(1) and coarse[g.cell(1)[0]:, 2 * g.cell(1)[1]:].max() > 2000


def test_leading_axes_and_int_indices():
    g = PlateGeometry.for_wells((8, 8), 2, 3)
    pyramid = TiledPyramid(g, np.uint8, lead_shape=(3,))
    for z in range(3):
        pyramid.put_well("A02", pyramid_blocks(np.full((8, 8), z + 1, np.uint8), g.levels), (z,))
    level = pyramid.levels[0]
    assert level.shape == (3, *g.shape(0)) and level.ndim == 3
    oy, ox = g.origin("A02")
    assert np.asarray(level[2])[oy, ox] == 3
    assert np.asarray(level[:, oy, ox]).tolist() == [1, 2, 3]
    with pytest.raises(IndexError):
        level[3]


def test_missing_blocks_are_requested_and_drawn_from_a_coarser_level():
    g = PlateGeometry.for_wells((640, 640), 2, 3)
    assert g.levels >= 2
    asked = []
    pyramid = TiledPyramid(g, np.uint16, wells=["A01"],
                           request=lambda well, lead, level: asked.append((well, level)))
    coarse = np.full(g.cell(1), 7, np.uint16)
    pyramid.put_well("A01", [coarse], first_level=1)
    plane = np.asarray(pyramid.levels[0][:64, :64])
    assert plane.min() == 7 and asked == [("A01", 0)]  # upsampled meanwhile, and asked for
    assert np.asarray(pyramid.levels[0][g.pitch[0]:, :]).max() == 0  # no well: no request
    assert asked == [("A01", 0)]


def test_store_evicts_only_what_can_be_read_again():
    store = BlockStore(budget=3 * 100)
    for i in range(5):
        store.put(("raw", str(i), ()), 0, np.zeros(100, np.uint8), evictable=True)
    store.put(("result", "A01", ()), 0, np.zeros(500, np.uint8))
    kept = [i for i in range(5) if store.get(("raw", str(i), ()), 0) is not None]
    assert kept == [2, 3, 4] and store.get(("result", "A01", ()), 0) is not None
    store.discard(("result", "A01", ()))
    assert store.get(("result", "A01", ()), 0) is None


def test_downsampling_modes():
    image = np.arange(16, dtype=np.uint16).reshape(4, 4)
    assert downsample(image, 2).tolist() == [[2, 4], [10, 12]]  # block means
    assert downsample(image, 2, mode="nearest").tolist() == [[0, 2], [8, 10]]
    assert downsample(image, 2, mode="max").tolist() == [[5, 7], [13, 15]]
    assert [b.shape for b in pyramid_blocks(np.zeros((9, 8)), 3)] == [(9, 8), (4, 4), (2, 2)]


def test_background_jobs_run_newest_first_and_once():
    import threading

    ran, gate, done, started = [], threading.Event(), threading.Event(), threading.Event()
    jobs = BackgroundJobs(threads=1)
    # holds the only thread while the others queue (once it runs: on a loaded machine the
    # thread may not have taken it yet, and the newest job would go first)
    jobs.submit("block", lambda: (started.set(), gate.wait()))
    assert started.wait(10)
    for key in ("a", "b", "c", "a"):  # "a" asked again: it moves to the front, runs once
        jobs.submit(key, lambda k=key: ran.append(k))
    jobs.submit("end", done.set)
    gate.set()
    assert done.wait(10)
    while jobs.pending():
        pass
    assert ran == ["a", "c", "b"]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize(("shape", "factor"), [((35, 33), 2), ((2, 17, 18), 2), ((70, 64), 4),
                                               ((64, 64), 32)])
def test_camera_images_downsample_to_the_exact_floor_of_each_block_mean(dtype, shape, factor):
    """uint8/16 are summed in integers (the fast path): the floor of the true block mean, the
    extreme values included (a float32 sum of 32 x 32 uint16 pixels is not exact)."""
    rng = np.random.default_rng(factor)
    image = rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype, endpoint=True)
    image[..., :factor, :factor] = np.iinfo(dtype).max
    h, w = shape[-2] // factor, shape[-1] // factor
    blocks = image[..., :h * factor, :w * factor].reshape(shape[:-2] + (h, factor, w, factor))
    exact = np.floor(blocks.mean(axis=(-3, -1), dtype=np.float64)).astype(dtype)
    result = downsample(image, factor)
    assert result.dtype == dtype and np.array_equal(result, exact)
