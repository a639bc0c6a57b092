"""The plate-wide output plan: fixed at compile time, the same in every well's plan."""

from __future__ import annotations

from dataclasses import replace

from napari_hcs.engine.compiler import compile_pipeline
from napari_hcs.engine.functions.library.assembly import assemble_mosaic
from napari_hcs.engine.functions.library.filters import gaussian_blur
from napari_hcs.engine.functions.library.registration import compute_positions
from napari_hcs.engine.pipeline import Pipeline, Step
from napari_hcs.engine.plate.layout_only import LayoutOnlyReader


def _stitch(**positions_kwargs) -> Pipeline:
    return Pipeline([
        Step({"1": (compute_positions, positions_kwargs)}, name="positions", group_by="channel",
             variable_components=("site",)),
        Step(assemble_mosaic, name="assembly", variable_components=("site",)),
    ], name="stitch")


def test_mosaic_shape_is_nominal_extent_plus_max_shift(plate):
    compiled = compile_pipeline(_stitch(max_shift=25.0), plate)
    output = compiled.output
    # 2x2 sites of 64 px, 58 px apart: extent 58 + 64, plus the largest correction 25.
    assert output.field_shape == (64 + 58 + 25, 64 + 58 + 25)
    assert {p.output for p in compiled.plans.values()} == {output}  # one plan, every well
    assert (output.dtype, output.plate_grid, output.plate_name) == ("uint16", (8, 12), "fake")


def test_default_max_shift_and_no_stitching(plate):
    assert compile_pipeline(_stitch(), plate).output.field_shape == (64 + 58 + 40,) * 2
    blur = Pipeline([Step((gaussian_blur, {"sigma": 1.0}))], name="blur")
    assert compile_pipeline(blur, plate).output.field_shape == (64, 64)


def test_the_largest_well_extent_counts(make_plate):
    class PerWell(LayoutOnlyReader):  # e.g. Harmony: positions recorded per well
        def site_positions(self, well):
            spread = 70.0 if well == "B02" else 58.0
            return {1: (0.0, 0.0), 2: (0.0, spread), 3: (spread, 0.0), 4: (spread, spread)}

    reader = PerWell(make_plate().layout)
    assert compile_pipeline(_stitch(max_shift=10), reader).output.field_shape == (144, 144)
    one = compile_pipeline(_stitch(max_shift=10), reader, wells=["A01"])
    assert one.output.field_shape == (132, 132)


def test_pixel_size_and_plate_grid_come_from_the_layout(make_plate):
    reader = make_plate(wells=("P24",))
    layout = replace(reader.layout, pixel_size_um=0.325, rows=16, columns=24)
    output = compile_pipeline(_stitch(), LayoutOnlyReader(layout)).output
    assert output.pixel_size_um == 0.325 and output.plate_grid == (16, 24)
    assert compile_pipeline(_stitch(), make_plate(wells=("P24",))).output.plate_grid == (16, 24)
