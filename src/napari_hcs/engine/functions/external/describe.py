"""One library function -> one index entry: its parameters, types, summary, and the probe.

An entry is plain JSON (see `index.py`):
`{"name", "category", "summary", "dims": "2d"|"nd", "input": "image"|"labels"|"binary",
"output_dtype", "parameters": [{"name", "type", "default"?, "doc"}], "arrays": [...],
"fixed": {...}, "example": {...}, "example_reason"}`; a parameter without "default" is required.

Parameters a form cannot give are hidden and keep the library's default: the output array
(`out`, `output`: the pipeline makes it), `channel_axis` (fixed to None: planes are
single-channel), array arguments other than small kernels (`mask`, `markers`: a second image
cannot be typed into a form), callables and dtypes, and defaults that are not plain values.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable
from typing import Any

from . import doctypes
from .probe import ProbeParameter, ProbeResult, probe

#: Array parameters that a small nested list can give (a footprint, a structuring element...).
KERNEL_NAMES = frozenset({"footprint", "structure", "weights", "kernel", "psf", "selem"})
#: Parameters the pipeline sets itself, with the value it passes (None: leave the default).
FIXED = {"channel_axis": None}
HIDDEN_NAMES = frozenset({"out", "output"})
#: How the libraries name an image argument (a footprint, moments or coordinates are not one).
IMAGE_ARGUMENT = re.compile(r"image|label|^(input|ar|arr|array|data|volume|img|mask)$")


def summary(doc: str | None, limit: int = 160) -> str:
    """The docstring's first sentence (of its first paragraph), on one line."""
    text = (inspect.cleandoc(doc or "").split("\n\n")[0]).replace("\n", " ").strip()
    text = re.sub(r"\s+", " ", text)
    match = re.match(r"(.+?\.)(\s|$)", text)
    text = match.group(1) if match else text
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def parse_docstring(doc: str | None) -> tuple[str, dict[str, tuple[str | None, str]]]:
    """`(summary, {parameter: (type string, description)})` from a numpydoc docstring."""
    import docstring_parser

    try:
        parsed = docstring_parser.parse(doc or "", docstring_parser.DocstringStyle.NUMPYDOC)
    except Exception:  # a docstring numpydoc cannot read: summary and signature still work
        return summary(doc), {}
    params: dict[str, tuple[str | None, str]] = {}
    for p in parsed.params:
        for name in re.split(r"\s*,\s*", p.arg_name.strip("*")):
            params.setdefault(name, (p.type_name, p.description or ""))
    return summary(doc), params


def describe_parameters(
    func: Callable[..., Any], docs: dict[str, tuple[str | None, str]],
    annotations_first: bool = False, hidden: Iterable[str] = (),
) -> tuple[list[dict[str, Any]], dict[str, Any], str]:
    """`(parameters, fixed, problem)`: the visible parameters after the image, as JSON, the
    values the pipeline fixes, and why the function cannot be used ('' when it can)."""
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return [], {}, "has no readable signature"
    if not params or params[0].kind not in (params[0].POSITIONAL_ONLY,
                                            params[0].POSITIONAL_OR_KEYWORD):
        return [], {}, "takes no image as its first argument"
    if not IMAGE_ARGUMENT.search(params[0].name):
        return [], {}, f"its first argument `{params[0].name}` is not an image"
    visible, fixed = [], {}
    for p in params[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        has_default = p.default is not p.empty
        type_text, description = docs.get(p.name, (None, ""))
        alternatives = _alternatives(p, type_text, description, annotations_first)
        if p.name in FIXED and has_default:
            fixed[p.name] = FIXED[p.name]
            continue
        encodable, encoded = doctypes.encode_default(p.default) if has_default else (True, None)
        usable = [a for a in alternatives if a not in ("callable", "dtype", "dict", "any")]
        kernel = p.name in KERNEL_NAMES and "array" in alternatives
        array_only = all(a in ("array", "none") for a in usable) and not kernel
        hide = (p.name in HIDDEN_NAMES or p.name in hidden or not encodable or not usable
                or array_only or p.kind is p.POSITIONAL_ONLY)
        if hide:
            if not has_default:
                what = doctypes.describe(alternatives)
                return [], {}, f"needs `{p.name}` ({what}), which a parameter value cannot give"
            continue
        entry: dict[str, Any] = {"name": p.name, "doc": summary(description, 200)}
        if has_default:
            entry["default"] = encoded
        entry["type"] = doctypes.complete(alternatives, p.default, has_default)
        if kernel:
            entry["kernel"] = True
        visible.append(entry)
    return visible, fixed, ""


def _alternatives(p: inspect.Parameter, type_text: str | None, description: str,
                  annotations_first: bool) -> list[Any]:
    from_doc = doctypes.parse_type(type_text, description)
    if annotations_first or not from_doc:
        from_annotation = _from_annotation(p.annotation)
        if from_annotation:
            return from_annotation
    return from_doc


def _from_annotation(annotation: Any) -> list[Any]:
    """Alternatives from a real annotation (pyclesperanto's are precise: float, Optional[int])."""
    import typing

    if annotation is inspect.Parameter.empty or annotation is None:
        return []
    if isinstance(annotation, str):
        return doctypes.parse_type(annotation.replace("Optional[", "None or ").rstrip("]"))
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return [{"choice": list(args)}]
    if args and origin is not None and str(origin) in ("typing.Union", "<class 'types.UnionType'>"):
        return [a for arg in args for a in _from_annotation(arg)]
    if annotation is type(None):
        return ["none"]
    simple = {int: "int", float: "float", bool: "bool", str: "str"}.get(annotation)
    if simple:
        return [simple]
    name = getattr(annotation, "__name__", str(annotation)).lower()
    return ["array"] if ("array" in name or "image" in name) else ["any"]


def probe_parameters(parameters: list[dict[str, Any]]) -> list[ProbeParameter]:
    return [ProbeParameter(p["name"], p["type"], "default" not in p,
                           doctypes.decode_default(p.get("default")), bool(p.get("kernel")))
            for p in parameters]


def with_probe(entry: dict[str, Any], result: ProbeResult) -> dict[str, Any]:
    """The entry completed by what the probe found."""
    entry.update(dims=result.dims, input=result.input_kind, output_dtype=result.output_dtype,
                 example=result.example, example_reason=result.example_reason)
    return entry


def describe_numpy_function(name: str, func: Callable[..., Any], category: str,
                            kinds: tuple[str, ...], volume: bool = True
                            ) -> tuple[dict[str, Any] | None, str]:
    """`(entry, "")` for a numpy library function that fits the pipeline, else `(None, why)`."""
    from .wrapper import call_numpy

    text, docs = parse_docstring(getattr(func, "__doc__", None))
    parameters, fixed, problem = describe_parameters(func, docs)
    if problem:
        return None, problem
    arrays = tuple(p["name"] for p in parameters if p.get("kernel"))

    def call(image: Any, kwargs: dict[str, Any]) -> Any:
        return call_numpy(func, image, {**kwargs, **fixed}, arrays)

    result = probe(call, probe_parameters(parameters), kinds, volume)
    if not result.ok:
        return None, result.reason
    entry = {"name": name, "category": category, "summary": text, "parameters": parameters,
             "arrays": list(arrays), "fixed": fixed}
    return with_probe(entry, result), ""


def input_kinds(func: Callable[..., Any]) -> tuple[str, ...]:
    """Label images first for functions whose first argument is named after labels."""
    try:
        first = next(iter(inspect.signature(func).parameters))
    except (TypeError, ValueError, StopIteration):
        return ("image", "labels", "binary")
    if "label" in first:
        return ("labels", "image", "binary")
    return ("image", "labels", "binary")
