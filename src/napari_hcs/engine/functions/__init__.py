"""Memory-typed processing functions: the registry, the built-in library (`library/`) and the
library functions of scikit-image, scipy.ndimage, pyclesperanto and cucim (`external/`)."""

from .registry import (
    FunctionSpec,
    RegistryError,
    cupy,
    get_function,
    list_functions,
    numpy,
    register,
    spec_of,
    torch,
)

__all__ = [
    "FunctionSpec",
    "RegistryError",
    "cupy",
    "get_function",
    "list_functions",
    "numpy",
    "register",
    "spec_of",
    "torch",
]
