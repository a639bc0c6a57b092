"""`ExternalFunction`: a library function as the pipeline calls it (stack in, stack out).

It is built from an index entry alone, so listing 400 of them imports no library: the target
function is imported on the first call. Per plane by default (an HCS stack holds sites or
channels, which a filter must not mix); functions that also work on volumes take
`as_volume=True` to run on the whole stack once (a z-stack).

Backends: `numpy` (scikit-image, scipy.ndimage), `opencl` (pyclesperanto: numpy in and out,
each plane pushed to the OpenCL device and pulled back; see docs/functions.md for why it is
not a memory type of its own) and `cupy` (cucim.skimage, on the CUDA device of the input).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

AS_VOLUME = "as_volume"
AS_VOLUME_DOC = ("run once on the whole stack as one 3-D volume (a z-stack) instead of "
                 "plane by plane")


class ContractError(ValueError):
    """A library function returned something a pipeline step cannot pass on."""


def _arrays(kwargs: dict[str, Any], names: tuple[str, ...], asarray: Callable[[Any], Any]
            ) -> dict[str, Any]:
    """Nested lists given for array parameters (a footprint, a kernel) as arrays."""
    return {k: asarray(v) if k in names and isinstance(v, (list, tuple)) else v
            for k, v in kwargs.items()}


def call_numpy(func: Callable[..., Any], image: np.ndarray, kwargs: dict[str, Any],
               arrays: tuple[str, ...] = ()) -> np.ndarray:
    """One call of a numpy library function (what the probe and the pipeline both run)."""
    return func(image, **_arrays(kwargs, arrays, np.asarray))


class ExternalFunction:
    """A registered library function; picklable by name, lazy to import."""

    def __init__(self, name: str, qualname: str, backend: str, target: tuple[str, str],
                 signature: inspect.Signature, doc: str, arrays: tuple[str, ...] = (),
                 fixed: Mapping[str, Any] | None = None, volume: bool = False) -> None:
        self.__name__ = name
        self.__qualname__ = qualname.partition(":")[2]
        self.__module__ = qualname.partition(":")[0]
        self.__doc__ = doc
        self.__signature__ = signature
        self.backend = backend
        self.target = target  # (module, attribute), checked by the source that made it
        self.arrays = arrays
        self.fixed = dict(fixed or {})
        self.volume = volume
        self._func: Callable[..., Any] | None = None

    def load(self) -> Callable[..., Any]:
        if self._func is None:
            module, attr = self.target
            self._func = getattr(importlib.import_module(module), attr)
        return self._func

    def __call__(self, stack: Any, **kwargs: Any) -> Any:
        if getattr(stack, "ndim", None) != 3:
            raise ValueError(f"{self.__name__} takes a stack of planes (N, Y, X); got shape "
                             f"{tuple(getattr(stack, 'shape', ()))}")
        as_volume = bool(kwargs.pop(AS_VOLUME, False)) and self.volume
        kwargs = {**kwargs, **self.fixed}
        func = self.load()
        if self.backend == "opencl":
            out = _opencl(func, stack, kwargs, self.arrays, as_volume)
        elif self.backend == "cupy":
            out = _cupy(func, stack, kwargs, self.arrays, as_volume)
        else:
            out = (call_numpy(func, stack, kwargs, self.arrays) if as_volume else
                   np.stack([np.asarray(call_numpy(func, p, kwargs, self.arrays))
                             for p in stack]))
        return self._checked(out, stack)

    def _checked(self, out: Any, stack: Any) -> Any:
        shape = tuple(getattr(out, "shape", ()))
        if shape != tuple(stack.shape):
            raise ContractError(
                f"{self.__name__} returned shape {shape} for a stack of {tuple(stack.shape)}; "
                "a step must keep the plane shape (check parameters that resize)")
        kind = getattr(getattr(out, "dtype", None), "kind", "")
        if kind not in ("b", "i", "u", "f"):
            raise ContractError(f"{self.__name__} returned {out.dtype} values, not an image")
        return out

    def __reduce__(self) -> tuple[Any, ...]:
        from . import resolve_function

        return resolve_function, (self.__name__,)

    def __copy__(self) -> ExternalFunction:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> ExternalFunction:
        return self

    def __repr__(self) -> str:
        return f"<library function {self.__name__}>"


def _opencl(func: Callable[..., Any], stack: np.ndarray, kwargs: dict[str, Any],
            arrays: tuple[str, ...], as_volume: bool) -> np.ndarray:
    import pyclesperanto as cle

    kwargs = _arrays(kwargs, arrays, np.asarray)
    if as_volume:
        return np.asarray(cle.pull(func(cle.push(np.ascontiguousarray(stack)), **kwargs)))
    return np.stack([np.asarray(cle.pull(func(cle.push(np.ascontiguousarray(p)), **kwargs)))
                     for p in stack])


def _cupy(func: Callable[..., Any], stack: Any, kwargs: dict[str, Any],
          arrays: tuple[str, ...], as_volume: bool) -> Any:
    import cupy

    kwargs = _arrays(kwargs, arrays, cupy.asarray)
    with cupy.cuda.Device(stack.device.id):
        if as_volume:
            return cupy.asarray(func(stack, **kwargs))
        return cupy.stack([cupy.asarray(func(p, **kwargs)) for p in stack])
