import json
from dataclasses import replace

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_hcs.engine.plate import ImageKey, PlateError, open_plate
from napari_hcs.engine.plate.generator import GROUND_TRUTH, SampleSpec, write_sample_plate
from napari_hcs.engine.plate.synthetic import flat_field, synthesize_well


def test_ground_truth_file(plates, small_spec):
    truth = json.loads((plates["imagexpress"] / GROUND_TRUTH).read_text())
    assert set(truth["wells"]) == {"A01", "B02"}
    assert truth["tile_shape"] == [64, 64]
    well = truth["wells"]["A01"]
    assert set(well["positions"]) == {"1", "2", "3", "4"}
    true = np.array(list(well["positions"].values()))
    nominal = np.array(list(well["nominal_positions"].values()))
    assert true.min(axis=0).tolist() == [0, 0]  # stitched frame
    shift = (true - nominal) - (true - nominal)[0]  # jitter relative to site 1
    assert np.abs(shift).max() <= 2 * small_spec.jitter
    assert well["mosaic_shape"] == (true.max(axis=0) + 64).tolist()
    assert well["nuclei_count"] == len(well["nuclei"]) > 0
    flat = np.load(plates["imagexpress"] / truth["flat_field"]["file"])
    np.testing.assert_allclose(flat, flat_field((64, 64), small_spec.vignetting))
    assert flat.max() <= 1.0 and flat.min() == pytest.approx(1 - small_spec.vignetting)


def _mosaic(spec: SampleSpec, well: str, channel: str = "1") -> tuple[np.ndarray, dict]:
    """Tiles placed at their true positions after dividing out the flat field."""
    data = synthesize_well(spec, well)
    flat = flat_field(spec.tile, spec.vignetting)
    out = np.zeros(data.mosaic_shape, np.float32)
    for site, (y, x) in data.positions.items():
        tile = (data.tiles[(site, channel, 1, 1)] - spec.background) / flat
        out[y : y + spec.tile[0], x : x + spec.tile[1]] = tile
    return out, data


def test_tiles_overlap_consistently_at_true_positions():
    spec = SampleSpec(wells=("A01",), tile=(96, 96), overlap=0.2, jitter=3, seed=3)
    data = synthesize_well(spec, "A01")
    flat = flat_field(spec.tile, spec.vignetting)
    (y1, x1), (y2, x2) = data.positions[1], data.positions[2]  # left and right neighbours
    a = data.tiles[(1, "1", 1, 1)] / flat
    b = data.tiles[(2, "1", 1, 1)] / flat
    dy, dx = y2 - y1, x2 - x1
    rows = slice(max(0, dy), min(96, 96 + dy))
    rows_b = slice(max(0, -dy), min(96, 96 - dy))
    left, right = a[rows, dx:], b[rows_b, : 96 - dx]
    r_true = np.corrcoef(left.ravel(), right.ravel())[0, 1]
    assert r_true > 0.8  # same specimen pixels, independent noise


def test_nuclei_are_countable(small_spec):
    spec = replace(small_spec, tile=(128, 128), nuclei_per_tile=10, nucleus_radius=(5, 8))
    mosaic, data = _mosaic(spec, "A01")
    smooth = ndi.gaussian_filter(mosaic, 1.5)
    mask = smooth > 0.3 * spec.signal
    _, n_blobs = ndi.label(mask)
    count = len(data.nuclei)
    assert count >= 10
    # Touching pairs merge into one blob: the threshold count is at most the truth.
    assert 0.6 * count <= n_blobs <= count
    for y, x in data.nuclei:
        assert mask[round(y), round(x)], "every true nucleus centre lies on a bright blob"


def test_deterministic_per_seed(small_spec):
    a = synthesize_well(small_spec, "B02")
    b = synthesize_well(small_spec, "B02")
    c = synthesize_well(replace(small_spec, seed=8), "B02")
    assert a.positions == b.positions and a.nuclei == b.nuclei
    np.testing.assert_array_equal(a.tiles[(1, "2", 1, 1)], b.tiles[(1, "2", 1, 1)])
    assert a.nuclei != c.nuclei
    # A well's data does not depend on which other wells are generated.
    other = synthesize_well(replace(small_spec, wells=("B02",)), "B02")
    assert other.nuclei == a.nuclei


def test_vignetting_darkens_the_corners(small_spec):
    spec = replace(small_spec, tile=(96, 96), nuclei_per_tile=0.0, vignetting=0.4)
    tile = synthesize_well(spec, "A01").tiles[(1, "1", 1, 1)].astype(float) - spec.background
    assert tile[:10, :10].mean() < 0.75 * tile[43:53, 43:53].mean()


def test_configurable_grid(tmp_path, small_spec):
    spec = replace(small_spec, wells=("A01",), grid=(2, 3), channels=("1",))
    reader = open_plate(write_sample_plate(tmp_path / "g", "imagexpress", spec))
    assert reader.layout.sites == (1, 2, 3, 4, 5, 6)
    # rows/columns are the plate's wells (YWells x XWells), not the site grid
    assert (reader.layout.rows, reader.layout.columns) == (8, 12)
    # from the MetaSeries stage positions of the tiles (the generator's nominal grid)
    assert reader.layout.site_positions[6] == pytest.approx((58.0, 115.0))
    assert reader.read(ImageKey("A01", 6)).dtype == np.uint16


def test_existing_plate_needs_force(tmp_path, small_spec):
    spec = replace(small_spec, wells=("A01",))
    root = write_sample_plate(tmp_path / "p", "phenix", spec)
    with pytest.raises(PlateError, match="already holds a sample plate; pass --force"):
        write_sample_plate(root, "phenix", spec)
    write_sample_plate(root, "imagexpress", spec, force=True)
    assert open_plate(root).layout.format == "imagexpress"
    assert not (root / "Images").exists()


def test_force_never_replaces_a_real_folder(tmp_path, small_spec):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "precious.txt").write_text("data")
    with pytest.raises(PlateError, match="not a sample plate"):
        write_sample_plate(tmp_path / "real", "imagexpress", small_spec, force=True)
    # Without --force the message does not suggest it: it would not help.
    with pytest.raises(PlateError, match="not a sample plate .*choose a new folder"):
        write_sample_plate(tmp_path / "real", "imagexpress", small_spec)
    assert (tmp_path / "real" / "precious.txt").is_file()


def test_bad_arguments(tmp_path, small_spec):
    with pytest.raises(PlateError, match="unknown sample format 'tiff'"):
        write_sample_plate(tmp_path / "x", "tiff", small_spec)
    with pytest.raises(PlateError, match="not a well name"):
        write_sample_plate(tmp_path / "x", "phenix", replace(small_spec, wells=("Q",)))
    assert not (tmp_path / "x").exists()
