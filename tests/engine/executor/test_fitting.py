"""One shape and one dtype rule per plate: fitting a well's result to the output plan."""

from __future__ import annotations

import numpy as np
import pytest

from napari_hcs.engine.compiler.plan import OutputPlan
from napari_hcs.engine.executor.fitting import (
    fit_field,
    fit_shape,
    stored_dtype_image,
    stored_field,
)

PLAN = OutputPlan(field_shape=(8, 10), dtype="uint16", pixel_size_um=0.65)


def test_smaller_results_are_padded_bottom_right_with_their_labels():
    image = np.ones((2, 6, 7), np.uint16)
    labels = {"nuclei": np.full((6, 7), 3, np.int32)}
    fitted, fitted_labels, warnings = fit_field("B03", 0, image, labels, PLAN)
    assert fitted.shape == (2, 8, 10) and fitted_labels["nuclei"].shape == (8, 10)
    assert fitted[:, :6, :7].all() and not fitted[:, 6:].any() and not fitted[:, :, 7:].any()
    assert (fitted_labels["nuclei"][:6, :7] == 3).all() and warnings == []


def test_larger_results_are_cropped_with_a_warning_naming_the_well():
    image = np.ones((1, 2, 9, 12), np.uint16)  # (C, Z, Y, X)
    fitted, labels, warnings = fit_field("C05", 0, image, {"n": np.ones((2, 9, 12), "i4")}, PLAN)
    assert fitted.shape == (1, 2, 8, 10) and labels["n"].shape == (2, 8, 10)
    assert len(warnings) == 1 and "well C05" in warnings[0] and "9x12" in warnings[0]
    assert "max_shift" in warnings[0]


def test_no_plan_writes_as_produced():
    image = np.ones((1, 3, 3), np.float64)
    assert fit_field("A01", 0, image, {}, None)[0] is image


@pytest.mark.parametrize(("values", "dtype"), [
    ([0.0, 812.4, 4095.6], np.uint16),  # illumination-corrected counts: back to uint16
    ([0.0, 3.0, 12.0], np.uint16),  # whole numbers within +-16 are counts too
    ([0.0, 0.5, 1.0], np.float32),  # a normalised image keeps its fractions
    ([-3.0, 100.0, 200.0], np.float32),  # negative: does not fit uint16
    ([0.0, 100.0, 70000.0], np.float32),  # beyond uint16
    ([0.0, np.nan, 100.0], np.float32),
    ([0.0, np.inf, 100.0], np.float32),
])
def test_float_results_of_an_integer_plate(values, dtype):
    image = np.array(values, np.float64).reshape(1, 1, 3)
    stored = stored_dtype_image(image, "uint16")
    assert stored.dtype == dtype
    if dtype == np.uint16:
        np.testing.assert_array_equal(stored, np.rint(image))


def test_every_channel_must_be_in_counts():
    image = np.stack([np.full((2, 2), 1000.0), np.full((2, 2), 0.25)])
    assert stored_dtype_image(image, "uint16").dtype == np.float32
    assert stored_dtype_image(image.astype(np.float32), "float32").dtype == np.float32
    assert stored_dtype_image(np.ones((1, 2, 2), bool), "uint16").dtype == np.uint8
    assert stored_dtype_image(np.ones((1, 2, 2), np.int32), "uint16").dtype == np.int32


def test_fit_shape_keeps_leading_axes():
    a = np.arange(24).reshape(2, 3, 4)
    assert fit_shape(a, (3, 4)) is a
    np.testing.assert_array_equal(fit_shape(a, (2, 5))[:, :, :4], a[:, :2])


def test_stored_field_stacks_channels_straight_into_the_stored_dtype():
    rng = np.random.default_rng(1)
    counts = [rng.uniform(0, 4000, (6, 7)).astype(np.float32) for _ in range(2)]
    stored = stored_field(counts, "uint16")
    assert stored.dtype == np.uint16
    np.testing.assert_array_equal(stored, np.rint(np.stack(counts)).astype(np.uint16))
    scaled = [c / 4000 for c in counts]  # 0..1, not whole: stays float32
    assert stored_field(scaled, "uint16").dtype == np.float32
    ints = [np.ones((6, 7), np.uint16), np.zeros((6, 7), np.uint16)]
    assert stored_field(ints, "uint16").dtype == np.uint16
    assert stored_field(counts, None).dtype == np.float32  # no output plan: as they are


def test_stored_field_comes_padded_to_the_plates_field_shape_when_it_fits():
    rng = np.random.default_rng(2)
    counts = [rng.uniform(0, 4000, (6, 7)).astype(np.float32) for _ in range(2)]
    padded = stored_field(counts, "uint16", PLAN.field_shape)
    np.testing.assert_array_equal(padded, fit_shape(stored_field(counts, "uint16"), (8, 10)))
    # Its labels are still padded by fit_field, with no warning (nothing was cropped).
    fitted, labels, warnings = fit_field("B03", 0, padded, {"n": np.ones((6, 7), "i4")}, PLAN)
    assert fitted is padded and labels["n"].shape == (8, 10) and warnings == []
    # Too large for the plate: left as it is, for fit_field to crop and say so.
    big = [rng.uniform(0, 4000, (9, 12)).astype(np.float32)]
    assert stored_field(big, "uint16", PLAN.field_shape).shape == (1, 9, 12)
