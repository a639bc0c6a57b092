"""Modules imported on first use, so that importing the library (to list or compile its
functions, as the process that starts a run does) does not import scipy or pandas; the workers
that call the functions import them (or have them already, `executor.fork_server`)."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for the module `name`; the first attribute read imports it."""

    __slots__ = ("_module", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


ndi = LazyModule("scipy.ndimage")
pd = LazyModule("pandas")
segmentation = LazyModule("skimage.segmentation")

#: pandas.DataFrame in annotations, spelled so that signatures evaluate without pandas.
Table = Any
