"""The pipeline document: a pipeline as JSON data, the only form in which one crosses the wire.

A pipeline *file* is Python: it runs only on the machine of the person who chose it. A
*document* is data: it names registered functions by their registered name and carries JSON
parameter values, so reading one imports nothing and runs nothing. Names are looked up in the
registry's own table (never as `module:attribute`), sizes are bounded before anything else is
looked at, and every call is checked against its function's signature
(`compiler.validate.check_call`) before a `Pipeline` comes back; every problem is reported at
once as a `DocumentError` (a `CompileError`, so it reads like one). The format (docs/wire.md,
"Pipeline document"):

    {"format": "napari-hcs-pipeline", "version": 1, "name": "...", "config": {...},
     "steps": [{"func": PATTERN, "name": "...", "variable_components": ["site"],
                "group_by": "channel", "materialize": true, "config": {...}}]}
    PATTERN = CALL | [CALL, ...] | {"routes": {"<group value>": CALL | [CALL, ...]}}
    CALL    = {"function": "<registered name>", "parameters": {"<name>": <JSON value>}}

Optional keys are left out when they hold their default, so one pipeline has one document.
Tuples become JSON arrays (lists), pattern keys strings; NaN and infinity have no JSON form.
"""

from __future__ import annotations

import copy
import json
import math
import os
import typing
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from ..compiler.problems import CompileError, Problem, ProblemList
from ..compiler.validate import check_call, type_mismatch
from ..functions.registry import FunctionSpec, RegistryError, list_functions, spec_of
from ..json_limits import JsonLimitError, check_value, loads_bounded
from .config import PipelineConfig, StepConfig
from .step import DEFAULT_VARIABLE_COMPONENTS, Pipeline, Step

FORMAT = "napari-hcs-pipeline"
VERSION = 1
MAX_BYTES = 1024 * 1024  # the document as JSON text (about; counted while walking it)
MAX_DEPTH = 24  # nesting of objects and arrays, the document's own levels included
MAX_STEPS = 256
MAX_VALUES = 20_000  # values of every kind in the whole document
MAX_STRING = 10_000  # characters in one string (object keys included)

_PIPELINE_KEYS = ("format", "version", "name", "config", "steps")
_STEP_KEYS = ("func", "name", "variable_components", "group_by", "materialize", "config")
_CALL_KEYS = ("function", "parameters")


class DocumentError(CompileError):
    """A document that is not a pipeline this machine can run; `.problems` says every why."""


def _fail(message: str, name: str = "pipeline") -> DocumentError:
    return DocumentError([Problem(None, None, None, message)], name)


# ---------------------------------------------------------------- bounds


def check_bounds(document: Any) -> None:
    """Raise DocumentError unless `document` is plain JSON data within the limits above;
    run it before looking at anything else (it stops at the first limit exceeded)."""
    try:
        check_value(document, max_depth=MAX_DEPTH, max_values=MAX_VALUES,
                    max_string=MAX_STRING, max_bytes=MAX_BYTES, what="the document")
    except JsonLimitError as exc:
        raise _fail(str(exc)) from None


# ---------------------------------------------------------------- Pipeline -> document


def _json_value(value: Any, where: str, problems: ProblemList, at: dict[str, Any]) -> Any:
    """`value` as JSON data (tuples -> lists, numpy scalars -> numbers), or a problem."""
    if hasattr(value, "item") and type(value).__module__ == "numpy" and getattr(
            value, "shape", None) == ():
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        problems.add(f"{value} has no JSON form; use a finite number or None", **at,
                     parameter=where)
        return None
    if isinstance(value, (list, tuple)):
        return [_json_value(v, f"{where}[{i}]", problems, at) for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        bad = [k for k in value if not isinstance(k, str)]
        if bad:
            problems.add(f"JSON object keys are strings; got {bad[0]!r}", **at, parameter=where)
        return {str(k): _json_value(v, f"{where}[{k!r}]", problems, at) for k, v in value.items()}
    problems.add(f"a {type(value).__name__} value cannot go into a pipeline document (use "
                 "None, bool, int, float, str, or lists/dicts of them)", **at, parameter=where)
    return None


def _call_document(call: Any, at: dict[str, Any], problems: ProblemList) -> dict[str, Any]:
    if isinstance(call, tuple) and len(call) == 2 and isinstance(call[1], Mapping):
        ref, kwargs = call
    else:
        ref, kwargs = call, None
    try:
        name = spec_of(ref).name
    except RegistryError as exc:
        problems.add(str(exc), **at, parameter="func")
        name = str(getattr(ref, "__qualname__", ref))
    out: dict[str, Any] = {"function": name}
    if kwargs is not None:
        out["parameters"] = {str(k): _json_value(v, str(k), problems, at)
                             for k, v in kwargs.items()}
    return out


def _chain_document(chain: Any, at: dict[str, Any], problems: ProblemList) -> Any:
    if isinstance(chain, list):
        return [_call_document(call, at, problems) for call in chain]
    return _call_document(chain, at, problems)


def _step_document(step: Step, index: int, problems: ProblemList) -> dict[str, Any]:
    at = {"step_index": index, "step_name": step.display_name}
    if isinstance(step.func, Mapping):
        func: Any = {"routes": {str(k): _chain_document(v, at, problems)
                                for k, v in step.func.items()}}
    else:
        func = _chain_document(step.func, at, problems)
    out: dict[str, Any] = {"func": func}
    if step.name is not None:
        out["name"] = step.name
    if tuple(step.variable_components) != DEFAULT_VARIABLE_COMPONENTS:
        out["variable_components"] = list(step.variable_components)
    if step.group_by is not None:
        out["group_by"] = step.group_by
    if step.materialize:
        out["materialize"] = True
    if step.config is not None:
        out["config"] = _json_value(step.config.set_fields(), "config", problems, at)
    return out


def pipeline_to_document(pipeline: Pipeline) -> dict[str, Any]:
    """The document of `pipeline` (JSON data); DocumentError naming every step it cannot
    describe (an unregistered function, a value JSON has no form for)."""
    problems = ProblemList()
    document: dict[str, Any] = {"format": FORMAT, "version": VERSION, "name": pipeline.name}
    if pipeline.config is not None:
        document["config"] = _json_value(pipeline.config.set_fields(), "config", problems, {})
    document["steps"] = [_step_document(step, i, problems)
                         for i, step in enumerate(pipeline.steps)]
    if problems:
        raise DocumentError(problems.items, pipeline.name)
    check_bounds(document)
    return document


# ---------------------------------------------------------------- document -> Pipeline


def _registered_functions() -> dict[str, FunctionSpec]:
    """The registry's own table by registered name: the built-in library and whatever this
    process registered at start; a name from a document is looked up here, never imported."""
    return {spec.name: spec for spec in list_functions()}


class _Reader:
    """Turns the parts of one document into pipeline values, collecting problems."""

    def __init__(self) -> None:
        self.problems = ProblemList()
        self.functions = _registered_functions()

    def keys(self, value: Mapping[str, Any], allowed: tuple[str, ...], what: str,
             at: dict[str, Any]) -> None:
        unknown = [k for k in value if k not in allowed]
        if unknown:
            self.problems.add(f"{what} has unknown key{'s' if len(unknown) > 1 else ''} "
                              f"{', '.join(repr(k[:40]) for k in unknown[:5])}; known: "
                              f"{', '.join(allowed)}", **at)

    def call(self, value: Any, at: dict[str, Any], where: str) -> Any:
        if not isinstance(value, Mapping) or "function" not in value:
            self.problems.add(f"{where}: a call is an object "
                              '{"function": NAME, "parameters": {...}}', **at, parameter="func")
            return None
        self.keys(value, _CALL_KEYS, f"{where}", at)
        name, parameters = value["function"], value.get("parameters")
        spec = self.functions.get(name) if isinstance(name, str) else None
        if spec is None:
            hint = (" (functions are named by their registered name, never module:attribute)"
                    if isinstance(name, str) and ":" in name else "")
            self.problems.add(f"{where}: {name!r:.80} is not a registered function on this "
                              f"machine{hint}", **at, parameter="func")
            return None
        if parameters is not None and not isinstance(parameters, Mapping):
            self.problems.add(f"{where}: `parameters` must be an object", **at,
                              parameter="func")
            return None
        for parameter, message in check_call(spec, dict(parameters or {})):
            self.problems.add(message, **at, parameter=parameter)
        if "parameters" not in value:
            return spec.func
        return (spec.func, copy.deepcopy(dict(parameters or {})))

    def chain(self, value: Any, at: dict[str, Any], where: str) -> Any:
        if not isinstance(value, list):
            return self.call(value, at, where)
        if not value:
            self.problems.add(f"{where}: an empty chain; give at least one call", **at,
                              parameter="func")
        calls = [self.call(c, at, f"{where}[{i}]") for i, c in enumerate(value)]
        return calls if None not in calls else None

    def pattern(self, value: Any, at: dict[str, Any]) -> Any:
        if isinstance(value, Mapping) and "routes" in value:
            self.keys(value, ("routes",), "func", at)
            routes = value["routes"]
            if not isinstance(routes, Mapping) or not routes:
                self.problems.add("func: `routes` maps group values to calls, e.g. "
                                  '{"1": {"function": ...}}', **at, parameter="func")
                return None
            chains = {key: self.chain(chain, at, f"func[{key!r:.40}]")
                      for key, chain in routes.items()}
            return chains if None not in chains.values() else None
        return self.chain(value, at, "func")

    def config(self, value: Any, kind: type, at: dict[str, Any]) -> Any:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.problems.add("`config` must be an object", **at, parameter="config")
            return None
        names = tuple(f.name for f in fields(kind))
        self.keys(value, names, "config", at)
        hints = typing.get_type_hints(kind)
        for key, item in value.items():
            mismatch = type_mismatch(item, hints[key]) if key in names else None
            if mismatch:
                self.problems.add(f"config {key!r} {mismatch}", **at, parameter=key)
        return kind(**{k: v for k, v in value.items() if k in names})

    def step(self, value: Any, index: int) -> Step | None:
        name = value.get("name") if isinstance(value, Mapping) else None
        at = {"step_index": index, "step_name": _label(value)}
        if not isinstance(value, Mapping) or "func" not in value:
            self.problems.add("a step is an object with at least `func`", **at)
            return None
        before = len(self.problems.items)
        self.keys(value, _STEP_KEYS, "the step", at)
        if name is not None and not isinstance(name, str):
            self.problems.add("`name` must be a string", **at, parameter="name")
        components = value.get("variable_components", list(DEFAULT_VARIABLE_COMPONENTS))
        if not (isinstance(components, list) and len(components) <= 8
                and all(isinstance(c, str) for c in components)):
            self.problems.add("`variable_components` must be a list of component names, e.g. "
                              '["site"]', **at, parameter="variable_components")
        group_by = value.get("group_by")
        if group_by is not None and not isinstance(group_by, str):
            self.problems.add("`group_by` must be a component name or null", **at,
                              parameter="group_by")
        materialize = value.get("materialize", False)
        if not isinstance(materialize, bool):
            self.problems.add("`materialize` must be true or false", **at,
                              parameter="materialize")
        func = self.pattern(value["func"], at)
        config = self.config(value.get("config"), StepConfig, at)
        if len(self.problems.items) > before:
            return None
        return Step(func, name=name, variable_components=tuple(components), group_by=group_by,
                    materialize=materialize, config=config)


def _label(step: Any) -> str:
    """What problems call a step: its name, else its functions' names (as `Step.display_name`)."""
    if not isinstance(step, Mapping):
        return "step"
    if isinstance(step.get("name"), str) and step["name"]:
        return step["name"][:80]
    func = step.get("func")
    if isinstance(func, Mapping) and isinstance(func.get("routes"), Mapping):
        chains = list(func["routes"].values())
    else:
        chains = [func]
    calls = [c for chain in chains for c in (chain if isinstance(chain, list) else [chain])]
    names = [c["function"][:40] for c in calls
             if isinstance(c, Mapping) and isinstance(c.get("function"), str)]
    return " + ".join(dict.fromkeys(names)) or "step"


def pipeline_from_document(document: Any) -> Pipeline:
    """The pipeline a document describes; DocumentError listing every problem otherwise.

    Nothing is imported or run: function names resolve through the registry's table, and
    each call's parameters are checked against the function's signature.
    """
    if not isinstance(document, Mapping):
        raise _fail("a pipeline document is a JSON object "
                    f'{{"format": "{FORMAT}", "version": {VERSION}, "steps": [...]}}')
    check_bounds(dict(document))
    reader = _Reader()
    problems = reader.problems
    reader.keys(document, _PIPELINE_KEYS, "the document", {})
    if document.get("format") != FORMAT:
        problems.add(f"`format` must be {FORMAT!r} (got {document.get('format')!r:.60})")
    version = document.get("version")
    if type(version) is not int or version != VERSION:
        newer = " (written by a newer napari-hcs?)" if type(version) is int and version > 1 else ""
        problems.add(f"unsupported document version {version!r:.20}{newer}; this napari-hcs "
                     f"reads version {VERSION}")
    name = document.get("name", "pipeline")
    if not isinstance(name, str):
        problems.add("`name` must be a string")
        name = "pipeline"
    config = reader.config(document.get("config"), PipelineConfig, {})
    steps_value = document.get("steps")
    if not isinstance(steps_value, list):
        problems.add("`steps` must be a list of steps")
        steps_value = []
    if len(steps_value) > MAX_STEPS:
        problems.add(f"the pipeline has {len(steps_value)} steps; at most {MAX_STEPS}")
        steps_value = []
    steps = [reader.step(item, i) for i, item in enumerate(steps_value)]
    if problems:
        raise DocumentError(problems.items, name)
    return Pipeline([s for s in steps if s is not None], name=name, config=config)


# ---------------------------------------------------------------- text and files


def document_text(pipeline: Pipeline) -> str:
    """The document of `pipeline` as indented JSON text (what `save_document` writes)."""
    text = json.dumps(pipeline_to_document(pipeline), indent=2, ensure_ascii=False,
                      allow_nan=False)
    return text + "\n"


def read_document(text: str | bytes, where: str = "<pipeline document>") -> Pipeline:
    """Parse document text (bounded before parsing) and read the pipeline it describes."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    try:
        document = loads_bounded(data, max_bytes=MAX_BYTES, max_depth=MAX_DEPTH,
                                 max_items=MAX_VALUES, what=where)
    except JsonLimitError as exc:
        raise _fail(str(exc)) from None
    return pipeline_from_document(document)


def load_document(path: str | os.PathLike[str]) -> Pipeline:
    """Read the pipeline document file at `path`."""
    file = Path(path)
    try:
        if file.stat().st_size > MAX_BYTES:
            raise _fail(f"{file}: larger than {MAX_BYTES} bytes; not a pipeline document")
        data = file.read_bytes()
    except OSError as exc:
        raise _fail(f"{file}: cannot read pipeline document: {exc.strerror}") from exc
    return read_document(data, str(file))


def save_document(pipeline: Pipeline, path: str | os.PathLike[str]) -> Path:
    """Write `pipeline` as a document file, atomically (`vfs.atomic_write`)."""
    target = Path(path)
    text = document_text(pipeline)  # before touching the disk: errors leave no file
    from ..vfs.atomic import atomic_write  # saving only: vfs is not needed to read or compile

    return atomic_write(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))
