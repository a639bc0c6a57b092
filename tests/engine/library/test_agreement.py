"""Every numpy function and its torch twin compute the same result."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from library_data import real_nuclei

from napari_hcs.engine.functions.library import (
    assembly,
    background,
    filters,
    illumination,
    normalize,
    projection,
)

PAIRS = [
    (filters.gaussian_blur, filters.gaussian_blur_torch, {"sigma": 3.0}),
    (filters.median_filter, filters.median_filter_torch, {"size": 5}),
    (illumination.correct_illumination, illumination.correct_illumination_torch, {}),
    (illumination.correct_illumination, illumination.correct_illumination_torch,
     {"darkfield": True, "smoothing": 0.3}),
    (background.subtract_background, background.subtract_background_torch, {"radius": 9}),
    (background.subtract_background, background.subtract_background_torch,
     {"radius": 9, "smooth": 4.0}),
    (normalize.normalize_percentile, normalize.normalize_percentile_torch, {"low": 2, "high": 98}),
    (projection.max_projection, projection.max_projection_torch, {}),
    (projection.mean_projection, projection.mean_projection_torch, {}),
    (projection.best_focus_projection, projection.best_focus_projection_torch, {}),
    (assembly.assemble_mosaic, assembly.assemble_mosaic_torch,
     {"positions": np.array([[0, 0], [3, 150], [140, 2]], float)}),
]


@pytest.mark.parametrize(("np_func", "torch_func", "kwargs"), PAIRS,
                         ids=lambda v: getattr(v, "__name__", ""))
def test_numpy_and_torch_agree(np_func, torch_func, kwargs) -> None:
    img, _ = real_nuclei()
    # Three planes of real texture, not divisible by the illumination block size.
    stack = np.stack([img[:190, :230], img[100:290, 200:430], img[300:490, 10:240]])
    expected = np_func(stack.astype(np.float32), **kwargs)
    got = torch_func(torch.from_numpy(stack.astype(np.float32)), **kwargs)
    assert isinstance(got, torch.Tensor)
    got = got.numpy()
    assert got.shape == expected.shape
    scale = max(float(np.abs(expected).max()), 1.0)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4 * scale)


def test_torch_keeps_integer_dtype_in_assembly() -> None:
    tiles = torch.arange(2 * 8 * 8, dtype=torch.int32).reshape(2, 8, 8)
    out = assembly.assemble_mosaic_torch(tiles, np.array([[0, 0], [0, 6]], float))
    ref = assembly.assemble_mosaic(tiles.numpy(), np.array([[0, 0], [0, 6]], float))
    assert out.dtype == torch.int32 and out.shape == (1, 8, 14)
    np.testing.assert_array_equal(out.numpy(), ref)


def test_filters_reject_bad_parameters() -> None:
    stack = np.zeros((1, 8, 8), np.float32)
    with pytest.raises(ValueError, match="median_filter: parameter 'size'"):
        filters.median_filter(stack, size=4)
    with pytest.raises(ValueError, match="gaussian_blur: parameter 'sigma'"):
        filters.gaussian_blur(stack, sigma=0)
    with pytest.raises(ValueError, match="normalize_percentile"):
        normalize.normalize_percentile(stack, low=50, high=10)
