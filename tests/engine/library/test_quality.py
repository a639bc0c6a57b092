"""Per-site image quality: CellProfiler's definitions, and scores that find bad fields."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_hcs.engine.functions.library.quality import (
    image_quality,
    measure_image_quality,
    power_log_log_slope,
    radial_power_spectrum,
)
from napari_hcs.engine.plate.synthetic import SampleSpec, synthesize_well


@pytest.fixture(scope="module")
def tiles() -> dict:
    return synthesize_well(SampleSpec(), "A01").tiles


class _WithPtp(np.ndarray):
    """numpy 1's `ndarray.ptp`, which centrosome's rps still calls."""

    def ptp(self) -> float:  # noqa: D102
        return float(np.ptp(np.asarray(self)))


def test_power_spectrum_is_centrosomes(tiles: dict) -> None:
    rps = pytest.importorskip("centrosome.radial_power_spectrum").rps
    image = tiles[(1, "1", 1, 1)].astype(np.float64) / 65535
    expected = rps(image.view(_WithPtp))
    for ours, theirs in zip(radial_power_spectrum(image), expected, strict=True):
        np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-9)


def test_blur_lowers_the_focus_scores(tiles: dict) -> None:
    sharp = tiles[(1, "1", 1, 1)]
    blurred = ndi.gaussian_filter(sharp.astype(np.float32), 3).astype(np.uint16)
    s, b = image_quality(sharp), image_quality(blurred)
    assert b["PowerLogLogSlope"] < s["PowerLogLogSlope"]
    assert b["FocusScore"] < s["FocusScore"]


def test_saturation_and_background() -> None:
    image = np.full((64, 64), 1000, np.uint16)
    image[:8] = 65535  # an eighth saturated
    image[32:, 32:] = 5000
    q = image_quality(image)
    assert q["PercentSaturated"] == pytest.approx(12.5)
    assert q["PercentMaximal"] == pytest.approx(12.5)
    assert q["Background"] == pytest.approx(1000 / 65535)
    assert q["MedianIntensity"] == pytest.approx(1000 / 65535)
    assert np.isnan(image_quality(image.astype(np.float32))["PercentSaturated"])
    assert image_quality(image.astype(np.float32), saturation=5000)["PercentSaturated"] == \
        pytest.approx(12.5 + 25)


def test_a_flat_image_scores_without_error() -> None:
    q = image_quality(np.full((32, 32), 7, np.uint16))
    assert q["PowerLogLogSlope"] == 0.0 and q["FocusScore"] == pytest.approx(0.0, abs=1e-20)
    assert power_log_log_slope(np.zeros((8, 8))) == 0.0  # too small to fit a slope


def test_one_row_per_site_with_channel_columns(tiles: dict) -> None:
    stack = np.stack([tiles[(s, c, 1, 1)] for s in (1, 2) for c in ("1", "2")])
    out, table = measure_image_quality(stack, ["DAPI", "Actin"] * 2, [1, 1, 2, 2])
    assert out is stack
    assert table["site"].tolist() == [1, 2]
    assert "ImageQuality_PowerLogLogSlope_DAPI" in table
    assert "ImageQuality_PercentSaturated_Actin" in table
    assert table.attrs["units"] == {}
    assert table.filter(like="ImageQuality_").notna().all().all()


def test_missing_site_ids_are_named() -> None:
    with pytest.raises(ValueError, match="site_ids"):
        measure_image_quality(np.zeros((2, 8, 8), np.uint16), ["a", "b"], None)
    with pytest.raises(ValueError, match="stacked twice"):
        measure_image_quality(np.zeros((2, 8, 8), np.uint16), ["a", "a"], [1, 1])
