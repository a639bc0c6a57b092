"""pyclesperanto (OpenCL), registered as `cle.<function>`.

pyclesperanto labels each function with categories (`filter`, `label processing`, `binarize`,
`projection`, `combine`, ...) and gives every image function the signature
`(input_image, output_image=None, <typed parameters>, device=None)`. Those two facts are the
rule: a function taking one input image whose categories do not say that it changes the shape
(`projection`, `transform`) or measures (`label measurement`, unless it maps the measurement
back onto the labels) is registered. These functions are not probed when the index is built:
on a CPU OpenCL driver (POCL) the first call of each compiles a kernel (about half a second
each), and the categories already answer the question; the test suite calls every one.

Memory type: numpy in, numpy out, each plane pushed to the OpenCL device and pulled back inside
the call (see `wrapper.py`). The compiler's devices are `cpu` and `cuda:N`; an OpenCL device
(a GPU of any vendor, or the CPU through POCL) is neither, so pyclesperanto functions run on
whatever device pyclesperanto selects, in any step.
"""

from __future__ import annotations

import inspect
from typing import Any

from .describe import describe_parameters, parse_docstring
from .source import Source, is_function

MODULE = "pyclesperanto"
HIDDEN = ("output_image", "device")
NOT_SHAPE_PRESERVING = {"projection": "projects the image (changes its shape)",
                        "transform": "changes the image geometry and shape"}
LABEL_CATEGORIES = ("label processing", "label measurement", "combine labels")
GENERIC_CATEGORIES = ("in assistant", "bia-bob-suggestion")


class ClesperantoSource(Source):
    prefix = "cle"
    import_name = "pyclesperanto"
    distribution = "pyclesperanto"
    backend = "opencl"
    extra = "gpu-opencl"

    def target(self, name: str) -> tuple[str, str] | None:
        attr = name[len(self.prefix) + 1:] if self.owns(name) else ""
        if not attr.isidentifier() or attr.startswith("_"):
            return None
        return MODULE, attr

    def names(self) -> list[str]:
        import pyclesperanto

        return [f"{self.prefix}.{n}" for n in sorted(dir(pyclesperanto))
                if not n.startswith("_") and hasattr(getattr(pyclesperanto, n), "categories")]

    def describe(self, name: str) -> tuple[dict[str, Any] | None, str]:
        func = self.resolve_object(name)
        categories = list(getattr(func, "categories", None) or [])
        if func is None or not is_function(func) or not categories:
            return None, "not an image function of pyclesperanto"
        first = list(inspect.signature(func).parameters)[:2]
        if first != ["input_image", "output_image"]:
            return None, "does not take exactly one input image"
        for category, why in NOT_SHAPE_PRESERVING.items():
            if category in categories:
                return None, why
        if "label measurement" in categories and "map" not in categories:
            return None, "measures labels (returns measurements, not an image)"
        text, docs = parse_docstring(func.__doc__)
        parameters, fixed, problem = describe_parameters(
            func, docs, annotations_first=True, hidden=HIDDEN)
        if problem:
            return None, problem
        if any("default" not in p for p in parameters):
            return None, "has a required parameter"
        kind = ("labels" if any(c in categories for c in LABEL_CATEGORIES) else
                "binary" if any("binary processing" in c for c in categories) else "image")
        category = next((c for c in categories if c not in GENERIC_CATEGORIES), categories[0])
        entry = {"name": name, "category": category, "summary": text,
                 "parameters": parameters, "arrays": [], "fixed": fixed,
                 "dims": "nd", "input": kind, "output_dtype": "", "example": {},
                 "example_reason": ""}
        return entry, ""
