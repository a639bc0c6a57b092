"""Memory-typed processing functions: the registry and the built-in library."""

from .registry import (
    FunctionSpec,
    RegistryError,
    cupy,
    get_function,
    list_functions,
    numpy,
    register,
    register_external,
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
    "register_external",
    "spec_of",
    "torch",
]
