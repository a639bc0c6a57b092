"""A run's plate.zarr in a real viewer: through napari-ome-zarr and through our reader.

The sample plate's wells stitch to different sizes (a few px apart) and its only calibration is
the MetaSeries XML of its TIFFs; both readers show every well, images and labels, in µm.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_hcs.engine.codegen import load_pipeline
from napari_hcs.engine.compiler import compile_pipeline
from napari_hcs.engine.executor import run_plans
from napari_hcs.engine.plate import open_plate
from napari_hcs.engine.vfs import omezarr
from napari_hcs.pipelines import path_of


@pytest.fixture(scope="module")
def run_out(sample_plate, tmp_path_factory):
    truth = json.loads((sample_plate / "ground_truth.json").read_text())["wells"]
    assert len({tuple(w["mosaic_shape"]) for w in truth.values()}) > 1
    compiled = compile_pipeline(load_pipeline(path_of("stitch_segment")), open_plate(sample_plate))
    out = tmp_path_factory.mktemp("napari-run") / "out"
    assert run_plans(compiled.plans, out).all_ok
    return out, compiled.output


def test_napari_ome_zarr_opens_the_plate_with_images_and_labels(make_napari_viewer, run_out):
    out, output = run_out
    viewer = make_napari_viewer()
    layers = viewer.open(str(out / "plate.zarr"), plugin="napari-ome-zarr")
    kinds = sorted(type(layer).__name__ for layer in layers)
    assert kinds == ["Image", "Image", "Labels"]
    image = next(layer for layer in layers if type(layer).__name__ == "Image")
    fy, fx = output.field_shape
    assert _level0(image).shape[-2:] == (8 * fy, 12 * fx)  # all 96 wells' places
    labels = next(layer for layer in layers if type(layer).__name__ == "Labels")
    plate_labels = np.asarray(_level0(labels)[:fy, :fx])  # well A01
    np.testing.assert_array_equal(
        plate_labels, omezarr.read_labels(out / "plate.zarr", "A01", 0, "nuclei_labels"))
    assert tuple(image.scale[-2:]) == pytest.approx((0.65, 0.65))
    assert [str(u) for u in image.units[-2:]] == ["micrometer", "micrometer"]


def _level0(layer):
    return layer.data[0] if layer.multiscale else layer.data


def test_reopened_outputs_are_in_micrometres(make_napari_viewer, run_out):
    out, output = run_out
    viewer = make_napari_viewer()
    layers = viewer.open(str(out), plugin="napari-hcs")
    assert [layer.name for layer in layers] == ["1 (output)", "2 (output)",
                                                "nuclei_labels labels"]
    for layer in layers:
        assert layer.data.shape == (4, *output.field_shape)  # one shape: no padding needed
        assert tuple(layer.scale) == pytest.approx((1.0, 0.65, 0.65))
        assert [str(u) for u in layer.units] == ["pixel", "micrometer", "micrometer"]
    assert layers[0].data.dtype == np.uint16
