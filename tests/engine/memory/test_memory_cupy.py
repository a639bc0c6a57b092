"""cupy conversions; skipped where cupy or CUDA is missing."""

from __future__ import annotations

import numpy as np
import pytest

from napari_hcs.engine.memory import convert, cuda_available, device_of, memory_type_of

cupy = pytest.importorskip("cupy")
if not cuda_available():
    pytest.skip("cupy is installed but no CUDA device is available", allow_module_level=True)


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32", "bool"])
def test_numpy_cupy_round_trip(dtype):
    original = (np.arange(24).reshape(2, 3, 4) % 5).astype(dtype)
    device_array = convert(original, "cupy", "cuda:0")
    assert memory_type_of(device_array) == "cupy" and device_of(device_array) == "cuda:0"
    back = convert(device_array, "numpy")
    assert back.dtype == original.dtype
    np.testing.assert_array_equal(back, original)


def test_cupy_torch_share_memory_via_dlpack():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch was built without CUDA")
    device_array = cupy.arange(6, dtype=cupy.float32).reshape(2, 3)
    tensor = convert(device_array, "torch", "cuda:0")
    assert tensor.data_ptr() == device_array.data.ptr
    again = convert(tensor, "cupy", "cuda:0")
    assert again.data.ptr == device_array.data.ptr
