"""One parameter must not ask for gigabytes or forever: size-like parameters of library
functions are bounded by the image at compile (issue #25's attacks on a 128 px tile), every
element of a list parameter is type-checked, and sensible values still compile."""

from __future__ import annotations

from pathlib import Path

import pytest

from napari_hcs.engine.compiler import CompileError, compile_pipeline
from napari_hcs.engine.compiler.parameter_bounds import MAX_ITERATIONS, image_side
from napari_hcs.engine.pipeline import Pipeline, Step
from napari_hcs.engine.plate.layout_only import LayoutOnlyReader
from napari_hcs.engine.plate.model import PlateLayout

TILE = 128


def reader(sites: int = 1) -> LayoutOnlyReader:
    return LayoutOnlyReader(PlateLayout(
        format="memory", root=Path("/plates/fake"), wells=("A01",),
        sites=tuple(range(1, sites + 1)), channels=("1",), z=(1,), timepoints=(1,),
        shape=(TILE, TILE), dtype="uint16",
        site_positions={s: (0.0, float((s - 1) * 115)) for s in range(1, sites + 1)}))


def problems(function: str, **kwargs) -> list[str]:
    pipeline = Pipeline([Step((function, kwargs), name="attack")], name="bounds")
    with pytest.raises(CompileError) as caught:
        compile_pipeline(pipeline, reader())
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("function,kwargs,parameter,text", [
    ("ndimage.gaussian_filter", {"sigma": 1.0, "radius": 400_000_000}, "radius",
     "more than the 256 pixels allowed for images of 128 px"),
    ("ndimage.gaussian_filter", {"sigma": 100.0}, "sigma", "100.0 (x truncate 4)"),
    ("ndimage.gaussian_filter", {"sigma": 1.0, "truncate": 1e9}, "sigma", "x truncate 1e+09"),
    ("skimage.filters.gaussian", {"sigma": [1.0, 5e8]}, "sigma", "500000000.0"),
    ("skimage.exposure.equalize_adapthist", {"nbins": 1_000_000_000}, "nbins",
     "more than the 65536 bins"),
    ("skimage.restoration.denoise_bilateral", {"win_size": 100_000}, "win_size",
     "more than the 513 pixels"),
    ("skimage.filters.laplace", {"ksize": 100_000}, "ksize", "more than the 513 pixels"),
    ("ndimage.median_filter", {"size": [3, 100_000]}, "size", "100000"),
    ("skimage.restoration.denoise_tv_chambolle", {"max_num_iter": 2**62, "eps": 0.0},
     "max_num_iter", f"more than the {MAX_ITERATIONS} iterations"),
    ("ndimage.binary_erosion", {"iterations": 10**9}, "iterations", "iterations a step"),
    ("cle.gaussian_blur", {"sigma_x": 1e7}, "sigma_x", "kernel half-width"),
    ("ndimage.gaussian_filter", {"sigma": 1.0, "order": 10**9}, "order",
     "more than the 16 allowed for a derivative"),
    ("skimage.segmentation.slic", {"n_segments": 10**9}, "n_segments", "16384 pixels"),
    ("ndimage.gaussian_filter", {"sigma": float("inf")}, "sigma", "expected a finite number"),
])
def test_a_size_like_parameter_beyond_the_image_is_refused_naming_step_and_parameter(
        function, kwargs, parameter, text):
    found = problems(function, **kwargs)
    assert len(found) == 1, found
    assert found[0].startswith(f"step 1 'attack', parameter '{parameter}': {function}")
    assert text in found[0]


def test_list_elements_are_type_checked():
    found = problems("skimage.filters.gaussian", sigma=[1.0, "x"])
    assert len(found) == 1 and "parameter 'sigma'" in found[0] and "'x'" in found[0]
    found = problems("ndimage.median_filter", size=[3, [3, 3]])
    assert len(found) == 1 and "parameter 'size'" in found[0]


def test_a_footprint_larger_than_a_window_over_the_image_is_refused():
    footprint = [[1] * 600] * 600  # 360,000 elements, more than 513 x 513
    found = problems("skimage.filters.median", footprint=footprint)
    assert len(found) == 1 and "more than 263169 elements" in found[0]


@pytest.mark.parametrize("function,kwargs", [
    ("ndimage.gaussian_filter", {"sigma": 2.0, "truncate": 4.0}),
    ("ndimage.gaussian_filter", {"sigma": 60.0}),  # a background estimate: 240 px half-width
    ("skimage.restoration.rolling_ball", {"radius": 50}),
    ("skimage.exposure.equalize_adapthist", {"nbins": 256, "kernel_size": [32, 32]}),
    ("skimage.restoration.denoise_tv_chambolle", {"max_num_iter": 200}),
    ("skimage.restoration.denoise_nl_means", {"sigma": 3000.0}),  # a noise level, not a length
    ("skimage.filters.median", {"footprint": [[1, 1, 1]] * 3}),
    ("ndimage.gaussian_filter", {"sigma": 1.0, "order": 2}),
    ("skimage.segmentation.slic", {"n_segments": 100}),
])
def test_sensible_values_compile(function, kwargs):
    compile_pipeline(Pipeline([Step((function, kwargs), name="ok")]), reader())


def test_the_bound_follows_the_mosaic_of_a_stitching_plate():
    assert image_side((TILE, TILE), {}) == TILE
    assert image_side((TILE, TILE), {1: (0.0, 0.0), 2: (0.0, 115.0), 3: (115.0, 230.0)}) == 358
    pipeline = Pipeline([Step(("ndimage.gaussian_filter", {"sigma": 150.0}), name="bg")])
    with pytest.raises(CompileError):
        compile_pipeline(pipeline, reader(sites=1))
    compile_pipeline(pipeline, reader(sites=6))  # a 6-site row: 703 px long
