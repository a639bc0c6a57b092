"""Memory types: detection, conversion (zero-copy where possible), dtypes, devices."""

from __future__ import annotations

import numpy as np
import pytest

from napari_hcs.engine.memory import (
    MemoryConversionError,
    available_devices,
    convert,
    cuda_available,
    device_of,
    memory_supported_on,
    memory_type_of,
    parse_device,
)

torch = pytest.importorskip("torch")

DTYPES = ["uint8", "uint16", "uint32", "int16", "int32", "int64", "float32", "float64", "bool"]


def stack(dtype: str) -> np.ndarray:
    values = np.arange(2 * 3 * 4).reshape(2, 3, 4) % 7
    if dtype == "uint16":
        values = values * 9000  # beyond int16's range: a silent promotion would show
    return values.astype(dtype)


def test_memory_type_of():
    assert memory_type_of(np.zeros(3)) == "numpy"
    assert memory_type_of(torch.zeros(3)) == "torch"
    with pytest.raises(MemoryConversionError, match="list is not an array"):
        memory_type_of([1, 2])


@pytest.mark.parametrize("dtype", DTYPES)
def test_numpy_torch_round_trip_is_exact_and_shared(dtype):
    original = stack(dtype)
    tensor = convert(original, "torch")
    assert memory_type_of(tensor) == "torch" and device_of(tensor) == "cpu"
    assert tuple(tensor.shape) == original.shape
    back = convert(tensor, "numpy")
    assert back.dtype == original.dtype
    np.testing.assert_array_equal(back, original)
    # zero-copy both ways on the CPU: all three views share one buffer
    assert np.shares_memory(back, original)
    original.flat[0] = 1
    assert tensor.flatten()[0].item() == 1


def test_same_type_is_returned_unchanged():
    array = stack("float32")
    assert convert(array, "numpy") is array
    tensor = torch.ones(2, 2)
    assert convert(tensor, "torch") is tensor


def test_arrays_torch_cannot_share_are_copied_exactly():
    base = stack("uint16")
    flipped = base[:, ::-1]  # negative strides
    readonly = base.copy()
    readonly.flags.writeable = False
    big_endian = base.astype(">u2")
    for array in (flipped, readonly, big_endian):
        back = convert(convert(array, "torch"), "numpy")
        np.testing.assert_array_equal(back, array)
        assert back.dtype == np.uint16


def test_torch_results_with_grad_convert():
    tensor = torch.ones(2, 2, requires_grad=True) * 2
    np.testing.assert_array_equal(convert(tensor, "numpy"), np.full((2, 2), 2.0, np.float32))


def test_bfloat16_has_no_numpy_dtype():
    with pytest.raises(MemoryConversionError, match="bfloat16"):
        convert(torch.zeros(2, dtype=torch.bfloat16), "numpy")


def test_bad_targets():
    with pytest.raises(MemoryConversionError, match="numpy arrays live on the host"):
        convert(np.zeros(2), "numpy", "cuda:0")
    with pytest.raises(MemoryConversionError, match="cupy arrays live on a CUDA device"):
        convert(np.zeros(2), "cupy", "cpu")
    with pytest.raises(MemoryConversionError, match="not one of"):
        convert(np.zeros(2), "jax")
    with pytest.raises(ValueError, match="'gpu' is not"):
        convert(np.zeros(2), "torch", "gpu")


def test_devices():
    devices = available_devices()
    assert devices[0] == "cpu"
    assert all(d.startswith("cuda:") for d in devices[1:])
    assert cuda_available() == (len(devices) > 1)
    assert parse_device("cuda") == ("cuda", 0) and parse_device("cuda:2") == ("cuda", 2)
    assert parse_device("cpu") == ("cpu", None)


@pytest.mark.parametrize(
    ("memory", "device", "expected"),
    [
        ("numpy", "cpu", True), ("numpy", "cuda:0", False),
        ("torch", "cpu", True), ("torch", "cuda:0", True),
        ("cupy", "cpu", False), ("cupy", "cuda", True),
    ],
)
def test_memory_supported_on(memory, device, expected):
    assert memory_supported_on(memory, device) is expected


def test_memory_supported_on_rejects_unknowns():
    with pytest.raises(ValueError):
        memory_supported_on("jax", "cpu")
    with pytest.raises(ValueError):
        memory_supported_on("numpy", "tpu")


@pytest.mark.skipif(not cuda_available(), reason="needs CUDA")
@pytest.mark.parametrize("dtype", ["uint16", "float32"])
def test_torch_cuda_round_trip(dtype):
    original = stack(dtype)
    tensor = convert(original, "torch", "cuda:0")
    assert device_of(tensor) == "cuda:0"
    back = convert(tensor, "numpy")
    assert back.dtype == original.dtype
    np.testing.assert_array_equal(back, original)
