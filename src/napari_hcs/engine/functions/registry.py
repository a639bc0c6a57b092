"""The function registry: memory-typed processing functions, looked up by name.

A registered function takes a 3-D stack `(N, Y, X)` (plus keyword parameters and any special
inputs, passed by name) and returns a stack; when it declares special outputs it returns
`(stack, out_1, out_2, ...)` in the declared order.

Special outputs carry a *kind* that tells the executor what to do with them:
`labels` (written as OME-Zarr labels), `table` (a pandas DataFrame written as Parquet),
`positions` (tile positions, written as `tables/positions.parquet`), `rois` (polygons, streamed
to viewers) and `data` (kept in memory for later steps only).

Two kinds of functions live here: those registered with `@register` (the built-in library,
users' own), and library functions of scikit-image, scipy.ndimage, pyclesperanto and cucim,
registered by rule under their library paths (`skimage.filters.gaussian`) from a cached index
without importing the libraries (`external/`). Lookups and listings see both alike.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

MEMORY_TYPES: tuple[str, ...] = ("numpy", "torch", "cupy")
SPECIAL_KINDS: tuple[str, ...] = ("labels", "table", "positions", "rois", "data")

#: Special inputs the plate itself provides (the compiler links them when no step produces them).
PLATE_PROVIDED: dict[str, str] = {
    "stage_positions": "(N, 2) float array: nominal (y, x) pixel position of each stacked tile",
    "channel_names": "list of channel names, one per stacked image",
    "site_ids": "list of site numbers (1-based, the plate's), one per stacked image",
    "pixel_size_um": "the plate's pixel size in micrometres (None when its metadata has none)",
}

def module_installed(module: str) -> bool:
    """Whether `module` can be imported, found without importing it (compiling a pipeline
    loads neither torch, TensorFlow nor cp-measure)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a module set to None
        return False


def missing_module(func: str, module: str, extra: str) -> str:
    """The one line for a function whose `requires` module is not installed."""
    return f'{func} needs {module}, which is not installed: pip install "napari-hcs[{extra}]"'


F = TypeVar("F", bound=Callable[..., Any])


class RegistryError(LookupError):
    """A function that is not registered, or registered twice under one name."""


@dataclass(frozen=True)
class Parameter:
    """One keyword parameter of a registered function, for validation and generated forms."""

    name: str
    annotation: Any
    default: Any  # inspect.Parameter.empty when required
    doc: str = ""  # one line, for form tooltips

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty


@dataclass(frozen=True)
class FunctionSpec:
    """What the engine and the UI know about one registered function."""

    name: str
    qualname: str  # "module:attribute", how plans and pipeline files refer to it
    func: Callable[..., Any]
    input_memory: str
    output_memory: str
    category: str
    parameters: tuple[Parameter, ...]
    special_inputs: tuple[str, ...]
    special_outputs: Mapping[str, str]  # name -> kind
    summary: str
    # (module, extra) pairs the function imports when it runs: the compiler refuses a plan
    # whose module is missing, naming `pip install "napari-hcs[extra]"`, before any well runs
    requires: tuple[tuple[str, str], ...] = ()

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)


_REGISTRY: dict[str, FunctionSpec] = {}
_BY_QUALNAME: dict[str, FunctionSpec] = {}


def _parameters(func: Callable[..., Any], special_inputs: tuple[str, ...]) -> tuple[Parameter, ...]:
    """Keyword parameters after the image stack, without the special inputs."""
    try:
        hints = inspect.get_annotations(func, eval_str=True)
    except Exception:  # unresolvable forward references: fall back to the raw annotations
        hints = getattr(func, "__annotations__", {})
    params = list(inspect.signature(func).parameters.values())[1:]
    return tuple(
        Parameter(p.name, hints.get(p.name, p.annotation), p.default)
        for p in params
        if p.name not in special_inputs and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    )


def _summary(func: Callable[..., Any]) -> str:
    doc = inspect.getdoc(func) or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ")


def register(
    func: F | None = None,
    *,
    memory: str = "numpy",
    output_memory: str | None = None,
    category: str = "general",
    name: str | None = None,
    special_inputs: tuple[str, ...] = (),
    special_outputs: Mapping[str, str] | None = None,
    requires: Mapping[str, str] | None = None,
) -> Any:
    """Register a stack function; use as `@register(memory="torch", category="filters")`.

    `requires`: module -> the napari-hcs extra that installs it (`{"cp_measure": "profiles"}`).

    The function is returned unchanged (so it stays picklable by reference and callable
    directly) with its `FunctionSpec` attached as `__hcs_spec__`.
    """

    def wrap(f: F) -> F:
        out_memory = output_memory or memory
        for m in (memory, out_memory):
            if m not in MEMORY_TYPES:
                raise ValueError(
                    f"{f.__qualname__}: memory type {m!r} is not one of {MEMORY_TYPES}")
        outputs = dict(special_outputs or {})
        for out, kind in outputs.items():
            if kind not in SPECIAL_KINDS:
                raise ValueError(
                    f"{f.__qualname__}: special output {out!r} has unknown kind {kind!r}")
        spec = FunctionSpec(
            name=name or f.__name__,
            qualname=f"{f.__module__}:{f.__qualname__}",
            func=f,
            input_memory=memory,
            output_memory=out_memory,
            category=category,
            parameters=_parameters(f, tuple(special_inputs)),
            special_inputs=tuple(special_inputs),
            special_outputs=outputs,
            summary=_summary(f),
            requires=tuple((requires or {}).items()),
        )
        add_spec(spec)
        f.__hcs_spec__ = spec  # type: ignore[attr-defined]
        return f

    return wrap(func) if func is not None else wrap


def add_spec(spec: FunctionSpec) -> None:
    """Record a spec under its name and qualname (refusing a name taken by another function)."""
    existing = _REGISTRY.get(spec.name)
    if existing is not None and existing.qualname != spec.qualname:
        raise RegistryError(
            f"function name {spec.name!r} is already registered by {existing.qualname}; "
            "pass name=... to register this one under another name"
        )
    _REGISTRY[spec.name] = spec
    _BY_QUALNAME[spec.qualname] = spec


def numpy(func: F | None = None, **options: Any) -> Any:
    """`@numpy` / `@numpy(category=...)`: register a function on numpy arrays."""
    return register(func, memory="numpy", **options)


def torch(func: F | None = None, **options: Any) -> Any:
    """`@torch`: register a function on torch tensors (runs on CPU or CUDA)."""
    return register(func, memory="torch", **options)


def cupy(func: F | None = None, **options: Any) -> Any:
    """`@cupy`: register a function on cupy arrays (CUDA only)."""
    return register(func, memory="cupy", **options)


def get_function(name: str) -> FunctionSpec:
    """Look a function up by registered name or by `module:qualname` (importing the module).

    Library names (`skimage.filters.gaussian`, `ndimage.median_filter`, `cle.top_hat_box`)
    resolve through `external`, which imports only that function's module.
    """
    if ":" in name:
        # Plans name functions this way: import only the function's own module (a worker
        # then pays for the libraries its plan uses, not for every built-in's dependencies).
        if name not in _BY_QUALNAME:
            module, _, attr = name.partition(":")
            try:
                obj: Any = importlib.import_module(module)
                for part in attr.split("."):
                    obj = getattr(obj, part)
            except (ImportError, AttributeError) as exc:
                if module in ("__main__", "__mp_main__"):  # see executor/no_main.py
                    raise RegistryError(
                        f"function {name!r} is defined in the script that started the run; "
                        "worker processes do not run that script: move the function to a "
                        "module and import it") from None
                raise RegistryError(f"cannot import function {name!r}: {exc}") from None
        if name in _BY_QUALNAME:
            return _BY_QUALNAME[name]
    if name in _REGISTRY:
        return _REGISTRY[name]
    from . import external

    if external.claims(name):
        return external.resolve(name)
    load_builtin_functions()
    if name in _REGISTRY:
        return _REGISTRY[name]
    known = ", ".join(sorted(_REGISTRY)[:10])
    raise RegistryError(f"unknown function {name!r} (registered: {known}, ...)")


def spec_of(func: Callable[..., Any] | str) -> FunctionSpec:
    """The spec of a registered callable (or name)."""
    if isinstance(func, str):
        return get_function(func)
    spec = getattr(func, "__hcs_spec__", None)
    if spec is None:
        module = str(getattr(func, "__module__", "") or "")
        if module.split(".")[0] in ("skimage", "scipy", "pyclesperanto", "cucim"):
            raise RegistryError(
                f"{module}.{getattr(func, '__name__', func)} is the library's own function; "
                "use the registered one by name (e.g. 'skimage.filters.gaussian', "
                "'ndimage.median_filter') or import it from napari_hcs.engine.functions.external"
            )
        raise RegistryError(
            f"{getattr(func, '__qualname__', func)!r} is not a registered function; "
            "decorate it with @napari_hcs.register"
        )
    return spec


def list_functions(category: str | None = None) -> list[FunctionSpec]:
    """Registered functions, sorted by category then name: the built-in library, functions
    registered by imported modules, and every library function of the index (built on the
    first call of a process when no cached index exists, see `external/index.py`)."""
    load_all_functions()
    specs = [s for s in _REGISTRY.values() if category is None or s.category == category]
    return sorted(specs, key=lambda s: (s.category, s.name))


def registered_functions() -> list[FunctionSpec]:
    """The functions registered so far, sorted like `list_functions`, without reading or
    building the library index (the built-in library is loaded first)."""
    load_builtin_functions()
    return sorted(_REGISTRY.values(), key=lambda s: (s.category, s.name))


def library_index_ready() -> bool:
    """Whether `list_functions` can answer at once: the library index is in memory or in the
    cache file. The first listing after an install or upgrade builds it (seconds)."""
    from .external.index import get_index

    return get_index(build=False) is not None


def categories() -> list[str]:
    load_all_functions()
    return sorted({s.category for s in _REGISTRY.values()})


def load_builtin_functions() -> None:
    """Import the built-in processing library (and the deep-learning functions, `deep/`) so
    that their functions are registered."""
    importlib.import_module("napari_hcs.engine.functions.library.catalog")
    importlib.import_module("napari_hcs.engine.functions.deep")


def load_all_functions() -> None:
    """The built-in library and every library function of the index."""
    load_builtin_functions()
    from . import external

    external.all_specs()


def __getattr__(name: str) -> Any:
    # PEP 562: `from napari_hcs.engine.functions.registry import sobel`, how pipeline files of
    # napari-hcs 0.1 referred to the four scikit-image functions it registered by hand.
    if not name.startswith("__"):
        from . import external

        if name in external.LEGACY_NAMES:
            return external.resolve(name).func
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
