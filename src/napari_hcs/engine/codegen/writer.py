"""Pipeline -> Python source: the pipeline-file contract (DESIGN.md, "Pipeline file").

The file imports `napari_hcs` and the modules of the registered functions it uses, refers to
functions by name, writes keyword arguments as literals and configurations as constructor
calls with only their set fields, and defines a module-level `pipeline`.
"""

from __future__ import annotations

import importlib
import keyword
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..functions.registry import RegistryError, spec_of
from ..pipeline.config import PipelineConfig, StepConfig
from ..pipeline.step import DEFAULT_VARIABLE_COMPONENTS, Pipeline, Step
from ..version import __version__
from .layout import WIDTH, CodegenError, Group, Node, literal, render, string

PIPELINE_MODULE = "napari_hcs.engine.pipeline"
_SAFE = re.compile(r"[^\w .-]")  # what may appear of a pipeline name inside the docstring


class _Imports:
    """Local names for imported functions, unique within the generated file."""

    def __init__(self) -> None:
        self.used = {"Pipeline", "Step", "PipelineConfig", "StepConfig", "pipeline", "float"}
        self.by_target: dict[tuple[str, str], str] = {}
        self.pipeline_names: list[str] = []

    def name_for(self, func: Callable[..., Any], where: str) -> str:
        try:
            spec = spec_of(func)
        except RegistryError as exc:
            raise CodegenError(f"{where}: {exc}") from None
        module, _, attr = spec.qualname.partition(":")
        if "<locals>" in attr or "<lambda>" in attr:
            raise CodegenError(
                f"{where}: {spec.name} is defined inside a function ({spec.qualname}); a pipeline "
                "file can only refer to functions defined at module level"
            )
        if _import_attr(module, attr) is not func:
            raise CodegenError(
                f"{where}: {spec.qualname} does not import back as the same function; register "
                "it at module level under its own name"
            )
        top, _, rest = attr.partition(".")
        target = (module, top)
        if target not in self.by_target:
            local = top
            n = 2
            while local in self.used or keyword.iskeyword(local):
                local = f"{top}_{n}"
                n += 1
            self.used.add(local)
            self.by_target[target] = local
        local = self.by_target[target]
        return f"{local}.{rest}" if rest else local

    def lines(self) -> list[str]:
        """Import lines grouped like isort: other packages, then napari_hcs."""
        modules = sorted({module for module, _ in self.by_target})
        other = [_from_import(m, self._names(m)) for m in modules if not _ours(m)]
        ours = [_from_import(m, self._names(m)) for m in modules if _ours(m)]
        ours.append(_from_import(PIPELINE_MODULE, self.pipeline_names))
        ours.sort(key=lambda line: line.split()[1])
        return other + ([""] if other else []) + ours

    def _names(self, module: str) -> list[str]:
        return [
            top if local == top else f"{top} as {local}"
            for (mod, top), local in sorted(self.by_target.items())
            if mod == module
        ]


def _ours(module: str) -> bool:
    return module == "napari_hcs" or module.startswith("napari_hcs.")


def _from_import(module: str, names: list[str]) -> str:
    line = f"from {module} import {', '.join(names)}"
    if len(line) <= WIDTH + 1:
        return line
    return f"from {module} import (\n" + "".join(f"    {n},\n" for n in names) + ")"


def _import_attr(module: str, attr: str) -> Any:
    try:
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    return obj


def _is_ref(obj: Any) -> bool:
    return isinstance(obj, str) or callable(obj)


def _call(call: Any, imports: _Imports, where: str) -> Node:
    """`f`, `"name"` or `(f, {kwargs})`."""
    if isinstance(call, tuple) and len(call) == 2 and isinstance(call[1], Mapping):
        ref, kwargs = call
        kw = literal(dict(kwargs), f"{where} keywords")
        return Group("(", [("", _ref(ref, imports, where)), ("", kw)], ")")
    return _ref(call, imports, where)


def _ref(ref: Any, imports: _Imports, where: str) -> str:
    if isinstance(ref, str):
        return string(ref)
    if callable(ref):
        return imports.name_for(ref, where)
    raise CodegenError(f"{where}: {ref!r} is not a function, a registered name or (f, kwargs)")


def _chain(chain: Any, imports: _Imports, where: str) -> Node:
    if isinstance(chain, list):
        return Group("[", [("", _call(c, imports, f"{where}[{i}]")) for i, c in enumerate(chain)],
                     "]")
    return _call(chain, imports, where)


def _pattern(pattern: Any, imports: _Imports, where: str) -> Node:
    if isinstance(pattern, Mapping):
        items = []
        for key, chain in pattern.items():
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise CodegenError(f"{where}: pattern key {key!r} is not a string or int")
            items.append((f"{literal(key, where)}: ", _chain(chain, imports, f"{where}[{key!r}]")))
        return Group("{", items, "}")
    return _chain(pattern, imports, where)


def _config(config: PipelineConfig | StepConfig, where: str) -> Node:
    items = [(f"{name}=", literal(value, f"{where}.{name}"))
             for name, value in config.set_fields().items()]
    return Group(f"{type(config).__name__}(", items, ")")


def _step(step: Step, index: int, imports: _Imports) -> Node:
    where = f"step {index + 1} ({step.display_name})"
    items: list[tuple[str, Node]] = [("", _pattern(step.func, imports, f"{where} func"))]
    if step.name is not None:
        items.append(("name=", literal(step.name, f"{where} name")))
    if tuple(step.variable_components) != DEFAULT_VARIABLE_COMPONENTS:
        items.append(("variable_components=",
                      literal(tuple(step.variable_components), f"{where} variable_components")))
    if step.group_by is not None:
        items.append(("group_by=", literal(step.group_by, f"{where} group_by")))
    if step.materialize:
        items.append(("materialize=", literal(step.materialize, f"{where} materialize")))
    if step.config is not None:
        items.append(("config=", _config(step.config, f"{where} config")))
    return Group("Step(", items, ")")


def pipeline_to_source(pipeline: Pipeline) -> str:
    """A readable Python module defining `pipeline`; `pipeline_from_source` reads it back equal."""
    imports = _Imports()
    steps = Group("[", [("", _step(s, i, imports)) for i, s in enumerate(pipeline.steps)], "]",
                  multiline=bool(pipeline.steps))
    items: list[tuple[str, Node]] = [("name=", literal(pipeline.name, "pipeline name"))]
    if pipeline.config is not None:
        items.append(("config=", _config(pipeline.config, "pipeline config")))
    items.append(("steps=", steps))
    body = render(Group("Pipeline(", items, ")", multiline=True), 0, len("pipeline = "))

    names = ["Pipeline"] + ["Step"] * bool(pipeline.steps)
    names += ["PipelineConfig"] * (pipeline.config is not None)
    names += ["StepConfig"] * any(s.config is not None for s in pipeline.steps)
    header = [
        # The name as given lives in the code below; the docstring shows a quote-safe version.
        f'"""napari-hcs pipeline "{_SAFE.sub("_", pipeline.name)[:60]}".',
        "",
        f"Written by napari-hcs {__version__}; run it with",
        "`napari-hcs run THIS_FILE PLATE --out OUT`, or open it in the Pipeline dock.",
        '"""',
        "",
    ]
    imports.pipeline_names = sorted(names)
    return "\n".join(header + imports.lines() + ["", f"pipeline = {body}", ""])


def save_pipeline(pipeline: Pipeline, path: str | os.PathLike[str]) -> Path:
    """Write `pipeline` as a pipeline file, atomically (`vfs.atomic_write`)."""
    target = Path(path)
    text = pipeline_to_source(pipeline)  # before touching the disk: errors leave no file
    from ..vfs.atomic import atomic_write  # saving only: vfs is not needed to read or compile

    return atomic_write(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))
