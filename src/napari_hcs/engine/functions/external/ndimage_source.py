"""scipy.ndimage, registered as `ndimage.<function>` (filters, morphology, interpolation,
Fourier filters and the measurement functions that return images)."""

from __future__ import annotations

from typing import Any

from .describe import describe_numpy_function, input_kinds
from .source import Source, is_function

MODULE = "scipy.ndimage"


class NdimageSource(Source):
    prefix = "ndimage"
    import_name = "scipy"
    distribution = "scipy"

    def target(self, name: str) -> tuple[str, str] | None:
        if not self.owns(name):
            return None
        attr = name[len(self.prefix) + 1:]
        if not attr.isidentifier() or attr.startswith("_"):
            return None
        return MODULE, attr

    def names(self) -> list[str]:
        import scipy.ndimage

        return [f"{self.prefix}.{n}" for n in sorted(scipy.ndimage.__all__)
                if not n.startswith("_")]

    def describe(self, name: str) -> tuple[dict[str, Any] | None, str]:
        import scipy.ndimage

        attr = name[len(self.prefix) + 1:]
        if name in self.deny:
            return None, f"left out: {self.deny[name]}"
        func = self.resolve_object(name)
        if func is None or attr not in scipy.ndimage.__all__:
            return None, f"{name} does not exist in this version of scipy"
        if not is_function(func):
            return None, "not a function"
        # scipy.ndimage._filters -> filters, _morphology -> morphology, ...
        category = getattr(func, "__module__", "").rpartition(".")[2].lstrip("_") or "ndimage"
        return describe_numpy_function(name, func, category, input_kinds(func))
