"""Library functions in the registry: scikit-image, scipy.ndimage, pyclesperanto, cucim.

Every public function of these libraries that turns an image into an image of the same shape
is registered under its library path: `skimage.filters.gaussian`, `ndimage.median_filter`,
`cle.top_hat_box`, `cucim.skimage.filters.gaussian`. The names are what pipeline files,
pipeline documents and plans refer to; resolving one imports only its own library module.

    >>> from napari_hcs.engine.functions.external import ndimage, skimage
    >>> Step((skimage.filters.gaussian, {"sigma": 2.0}))  # in a pipeline file
    >>> get_function("ndimage.median_filter")             # by name

Which functions exist, their parameters (typed from their docstrings) and how they were probed
come from the index (`index.py`), read without importing any library; `list_functions()`
builds it on first use. The four names that napari-hcs 0.1 registered by hand (`sobel`,
`unsharp_mask`, `equalize_adapthist`, `denoise_tv_chambolle`) still resolve, to their
`skimage.*` entries.
"""

from __future__ import annotations

import inspect
from typing import Any

from ..registry import FunctionSpec, Parameter, RegistryError, add_spec
from . import doctypes
from .index import SOURCES, get_index, source_of
from .wrapper import AS_VOLUME, AS_VOLUME_DOC, ExternalFunction

LEGACY_NAMES = {
    "sobel": "skimage.filters.sobel",
    "unsharp_mask": "skimage.filters.unsharp_mask",
    "equalize_adapthist": "skimage.exposure.equalize_adapthist",
    "denoise_tv_chambolle": "skimage.restoration.denoise_tv_chambolle",
}
_SPECS: dict[str, FunctionSpec] = {}


def claims(name: str) -> bool:
    """Whether `name` is a library name (or a legacy one) that this module resolves."""
    return name in LEGACY_NAMES or source_of(name) is not None


def resolve(name: str) -> FunctionSpec:
    """The spec of one library function, registering it on first use."""
    name = LEGACY_NAMES.get(name, name)
    if name in _SPECS:
        return _SPECS[name]
    source = source_of(name)
    if source is None or source.target(name) is None:
        raise RegistryError(f"{name!r} is not a function of a supported library "
                            "(skimage.<module>.<name>, ndimage.<name>, cle.<name>, "
                            "cucim.skimage.<module>.<name>)")
    if not source.available():
        raise RegistryError(f"{name}: {source.missing()}")
    index = get_index(build=False)
    if index is not None:
        entry, reason = index.functions.get(name), index.excluded.get(name, "")
        if entry is None and not reason:
            reason = f"{name.rpartition('.')[2]} is not a public function of {source.prefix}"
    else:  # no index yet (e.g. a fresh worker): describe this one function only
        try:
            entry, reason = source.describe(name)
        except ImportError as exc:
            raise RegistryError(f"{name}: cannot import {source.import_name}: {exc}") from None
    if entry is None:
        raise RegistryError(f"{name} cannot be a pipeline step: {reason}")
    spec = spec_from_entry(entry)
    _SPECS[name] = spec
    add_spec(spec)
    return spec


def resolve_function(name: str) -> ExternalFunction:
    """The callable registered as `name` (how pickles of library functions load)."""
    return resolve(name).func


def all_specs() -> list[FunctionSpec]:
    """Every library function of the index (building the index on first use)."""
    index = get_index(build=True)
    return [_SPECS.get(name) or resolve(name) for name in (index.functions if index else {})]


def entry_of(spec: FunctionSpec) -> dict[str, Any] | None:
    """The index entry behind a library function's spec (None for other functions)."""
    return getattr(spec.func, "entry", None)


def spec_from_entry(entry: dict[str, Any]) -> FunctionSpec:
    name = entry["name"]
    source = source_of(name)
    assert source is not None  # checked by index.check_entry / resolve
    params = [Parameter(p["name"], doctypes.annotation(p["type"]),
                        doctypes.decode_default(p["default"]) if "default" in p
                        else inspect.Parameter.empty, p.get("doc", ""))
              for p in entry["parameters"]]
    volume = entry["dims"] == "nd" and all(p.name != AS_VOLUME for p in params)
    if volume:
        params.append(Parameter(AS_VOLUME, bool, False, AS_VOLUME_DOC))
    qualname = f"{__name__}:{name}"
    signature = inspect.Signature(
        [inspect.Parameter("stack", inspect.Parameter.POSITIONAL_ONLY)]
        + [inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY, default=p.default,
                             annotation=p.annotation) for p in params])
    func = ExternalFunction(name, qualname, source.backend, source.target(name),  # type: ignore[arg-type]
                            signature, _doc(entry, params), tuple(entry["arrays"]),
                            entry["fixed"], volume)
    spec = FunctionSpec(name=name, qualname=qualname, func=func, input_memory=source.memory,
                        output_memory=source.memory, category=entry["category"],
                        parameters=tuple(params), special_inputs=(), special_outputs={},
                        summary=entry["summary"])
    func.__hcs_spec__ = spec  # type: ignore[attr-defined]
    func.entry = entry  # type: ignore[attr-defined]
    return spec


def _doc(entry: dict[str, Any], params: list[Parameter]) -> str:
    """Summary, how it runs, and one line per parameter: the tooltip and `help()` text."""
    runs = ("per plane, or on the whole stack with as_volume=True" if entry["dims"] == "nd"
            else "per plane (2-D)")
    lines = [entry["summary"], "", f"{entry['name']}: runs {runs}; input: {entry['input']}."]
    if params:
        lines.append("")
        lines += [f"{p.name}: {p.doc}" if p.doc else p.name for p in params]
    return "\n".join(lines)


class Namespace:
    """`skimage`, `skimage.filters`, ...: attribute access to library functions by path."""

    def __init__(self, path: str) -> None:
        self._path = path

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        full = f"{self._path}.{attr}"
        if any(full in s.namespaces() for s in SOURCES):
            return Namespace(full)
        try:
            return resolve(full).func
        except RegistryError as exc:
            raise AttributeError(str(exc)) from None

    def __dir__(self) -> list[str]:
        index = get_index(build=False)
        names = index.functions if index else {}
        depth = self._path.count(".") + 1
        return sorted({n.split(".")[depth] for n in names if n.startswith(self._path + ".")})

    def __repr__(self) -> str:
        return f"<napari-hcs library namespace {self._path}>"


ROOTS = ("skimage", "ndimage", "cle", "cucim")


def __getattr__(name: str) -> Any:
    if name in ROOTS:
        return Namespace(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *ROOTS])
