"""cucim.skimage (CUDA, cupy arrays), registered as `cucim.skimage.<module>.<function>`.

cucim.skimage re-implements scikit-image's API on cupy arrays, so the rule is scikit-image's:
a cucim function is registered when its scikit-image twin of the same module and name is
registered, with the parameters of cucim's own signature and docstring and the twin's probe
results (dims, input kind, example values). Nothing is probed on the GPU when the index is
built; the memory type is `cupy`, so the compiler's device checks apply (a cucim function
needs a step on `cuda`). Registered only where cucim and cupy import, i.e. with CUDA.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from typing import Any

from .describe import describe_parameters, parse_docstring
from .skimage_source import MODULES, SkimageSource
from .source import is_function

DISTRIBUTIONS = ("cucim-cu12", "cucim-cu13", "cucim-cu11", "cucim")


class CucimSource(SkimageSource):
    prefix = "cucim.skimage"
    import_name = "cucim"
    distribution = "cucim"
    backend = "cupy"
    memory = "cupy"
    extra = "gpu-cupy"
    deny: dict[str, str] = {}

    def __init__(self, package: str = "cucim.skimage") -> None:
        # `package` is the module tree the functions are imported from; the tests pass
        # "skimage" (the API cucim mirrors) to check this logic on a machine without CUDA.
        self.package = package
        self.twins = SkimageSource()

    def available(self) -> bool:
        try:
            return all(importlib.util.find_spec(m) is not None for m in ("cucim", "cupy"))
        except (ImportError, ValueError):
            return False

    def version(self) -> str | None:
        if not self.available():
            return None
        for dist in DISTRIBUTIONS:
            try:
                return importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                continue
        return None

    def twin_name(self, name: str) -> str:
        return "skimage." + name[len(self.prefix) + 1:]

    def names(self) -> list[str]:
        return [f"{self.prefix}.{sub}.{attr}" for sub in MODULES for attr in self._exports(sub)]

    def build(self, earlier: dict[str, dict[str, Any]]
              ) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        entries, excluded = {}, {}
        for twin_name, twin in earlier.items():
            if not twin_name.startswith("skimage."):
                continue
            name = f"{self.prefix}.{twin_name[len('skimage.'):]}"
            try:
                entry, reason = self.derive(name, twin)
            except ImportError as exc:  # cucim installed, CUDA libraries missing
                return {}, {self.prefix: f"cannot import cucim.skimage: {exc}"}
            if entry is None:
                excluded[name] = reason
            else:
                entries[name] = entry
        return entries, excluded

    def describe(self, name: str) -> tuple[dict[str, Any] | None, str]:
        twin, reason = self.twins.describe(self.twin_name(name))
        if twin is None:
            return None, f"its scikit-image twin is left out: {reason}"
        return self.derive(name, twin)

    def derive(self, name: str, twin: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
        """The entry of a cucim function from its own signature and its twin's probe."""
        if self.target(name) is None:
            return None, "not in a registered scikit-image module"
        func = self.resolve_object(name)
        if func is None or not is_function(func):
            return None, f"cucim.skimage has no {name.rpartition('.')[2]} in this module"
        text, docs = parse_docstring(func.__doc__)
        parameters, fixed, problem = describe_parameters(func, docs)
        if problem:
            return None, problem
        names = {p["name"] for p in parameters}
        required = {p["name"] for p in parameters if "default" not in p}
        if not required <= set(twin["example"]):
            missing = ", ".join(sorted(required - set(twin["example"])))
            return None, f"needs {missing}, which its scikit-image twin does not"
        example = {k: v for k, v in twin["example"].items() if k in names}
        entry = {"name": name, "category": twin["category"], "summary": text or twin["summary"],
                 "parameters": parameters,
                 "arrays": [p["name"] for p in parameters if p.get("kernel")], "fixed": fixed,
                 "dims": twin["dims"], "input": twin["input"],
                 "output_dtype": twin["output_dtype"], "example": example,
                 "example_reason": twin["example_reason"]}
        return entry, ""
