"""Library functions (scikit-image, scipy.ndimage, pyclesperanto) in real runs: worker
processes resolve them by name, and the compiler checks their parameters."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.filters as skfilters
from executor_helpers import compile_for
from scipy import ndimage as ndi

from napari_hcs.engine.compiler import CompileError
from napari_hcs.engine.executor import run_plans
from napari_hcs.engine.functions.external import ndimage, skimage
from napari_hcs.engine.pipeline import Pipeline, Step
from napari_hcs.engine.plate import open_plate


def _library_pipeline() -> Pipeline:
    return Pipeline([
        Step([(skimage.filters.gaussian, {"sigma": 1.5, "preserve_range": True}),
              (ndimage.median_filter, {"size": 3})], name="smooth"),
        Step(("skimage.exposure.rescale_intensity", {"out_range": (0.0, 1.0)}),
             name="rescale"),
    ], name="library")


def test_spawned_workers_run_library_functions_by_name(plate, tmp_path):
    results = []
    report = run_plans(compile_for(_library_pipeline(), plate, wells=["A01", "B02"]),
                       tmp_path / "out", workers=2, on_result=results.append)
    assert report.all_ok, report.failed
    reader = open_plate(plate)
    key = reader.layout.keys("B02")[0]
    expected = ndi.median_filter(skimage_gaussian(reader.read(key)), size=3)
    expected = (expected - expected.min()) / (expected.max() - expected.min())
    b02 = next(r for r in results if r.well == "B02")
    np.testing.assert_allclose(b02.image[0], expected, atol=1e-6)


def skimage_gaussian(image: np.ndarray) -> np.ndarray:
    return skfilters.gaussian(image, sigma=1.5, preserve_range=True)


def test_opencl_functions_run_in_a_step(plate, tmp_path):
    pytest.importorskip("pyclesperanto")
    pipeline = Pipeline([Step(("cle.gaussian_blur", {"sigma_x": 2.0, "sigma_y": 2.0}))])
    results = []
    report = run_plans(compile_for(pipeline, plate, wells=["A01"]), None,
                       on_result=results.append)
    assert report.all_ok, report.failed
    reader = open_plate(plate)
    first = reader.read(reader.layout.keys("A01")[0]).astype(np.float32)
    blurred = results[0].image[0]
    assert blurred.shape == first.shape
    # a blur: same mean away from the borders, less variance
    assert abs(blurred[8:-8, 8:-8].mean() - first[8:-8, 8:-8].mean()) < 0.02 * first.mean()
    assert blurred.std() < first.std()


def test_compiler_checks_library_parameters(plate):
    pipeline = Pipeline([
        Step("ndimage.gaussian_filter", name="no sigma"),
        Step(("ndimage.gaussian_filter", {"sigma": 1.0, "mode": "reflekt"}), name="bad mode"),
        Step(("skimage.filters.gaussian", {"sigmaa": 2}), name="typo"),
        Step("skimage.filters.threshold_otsu", name="threshold"),
    ])
    with pytest.raises(CompileError) as caught:
        compile_for(pipeline, plate)
    text = str(caught.value)
    assert "ndimage.gaussian_filter needs a value for 'sigma'" in text
    assert "'mode' expects" in text and "'reflekt'" in text
    assert "has no parameter 'sigmaa'" in text
    assert "threshold_otsu cannot be a pipeline step: returns a single value" in text
