"""Phase 2: check keyword arguments against signatures, configuration values against their
field types, and dict-pattern keys against the plate.

Annotations are the single source of what a value may be: int, float, str, bool, Literal and
unions of these, and `typing.Annotated[T, constraint, ...]` with the `annotated_types`
constraints (`Gt`, `Ge`, `Lt`, `Le`, `Interval`, `MultipleOf`, `MinLen`, `MaxLen`, `Len`), e.g.
`sigma: Annotated[float, Gt(0)] = 2.0`. Forms read the same metadata (`bounds`).
"""

from __future__ import annotations

import inspect
import numbers
import types
import typing
from collections.abc import Sequence
from functools import cache
from typing import Any

import annotated_types as at

from ..functions.registry import FunctionSpec
from ..pipeline.config import FIELD_TYPES, GlobalConfig
from ..pipeline.step import Pipeline
from ..plate.model import PlateLayout
from ..roots import UNCONFINED, AllowedRoots
from .parameter_bounds import check_bounds
from .problems import ProblemList
from .resolve import ResolvedStep


@cache
def _accepts_any_kwargs(func: Any) -> bool:
    """Whether the function takes `**kwargs` (then any keyword is passed through)."""
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.kind is p.VAR_KEYWORD for p in params)


def type_mismatch(value: Any, annotation: Any) -> str | None:
    """Why `value` does not fit a simple `annotation`, or None when it fits or can't be told.

    Only simple annotations are checked (int, float, str, bool, tuple, list, dict, None,
    Literal and unions of these); anything else is trusted, since it cannot be checked here.
    """
    fits = _fits(value, annotation)
    if fits is False:
        return f"expects {_describe(annotation)}, got {value!r} ({type(value).__name__})"
    return None


def _fits(value: Any, annotation: Any) -> bool | None:
    if annotation is inspect.Parameter.empty or annotation is Any or isinstance(annotation, str):
        return None
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base = _fits(value, annotation.__origin__)
        if base is False:
            return False
        constraints = _constraints(annotation)
        if not constraints or (base is None and not _is_number(value)):
            return base
        return all(_satisfies(value, c) for c in constraints)
    if origin is typing.Union or origin is types.UnionType:
        answers = [_fits(value, arg) for arg in typing.get_args(annotation)]
        return True if any(a is True for a in answers) else (None if None in answers else False)
    if origin is typing.Literal:
        return value in typing.get_args(annotation)
    if annotation is None or annotation is type(None):
        return value is None
    kind = origin or annotation
    if kind is bool:
        return isinstance(value, (bool, _np_bool()))
    if kind is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, (bool, _np_bool()))
    if kind is float:
        return isinstance(value, numbers.Real) and not isinstance(value, (bool, _np_bool()))
    if kind is str:
        return isinstance(value, str)
    if kind in (tuple, list, Sequence):
        # The UI and JSON produce lists where a tuple is meant: both are accepted.
        if not isinstance(value, (tuple, list)):
            return False
        return _elements_fit(value, typing.get_args(annotation), kind is tuple)
    if kind is dict:
        return isinstance(value, dict)
    return None


def _elements_fit(value: tuple | list, args: tuple, fixed: bool) -> bool | None:
    """Each element against `tuple[int, ...]`, `tuple[int, float]` or `list[int]` (a list
    parameter's elements reach the library unchecked otherwise)."""
    if not args:
        return True
    if fixed and not (len(args) == 2 and args[1] is Ellipsis):
        if len(value) != len(args):
            return False
        answers = [_fits(v, a) for v, a in zip(value, args, strict=True)]
    else:
        answers = [_fits(v, args[0]) for v in value]
    return False if False in answers else (None if None in answers else True)


def _np_bool() -> type:
    import numpy as np

    return np.bool_


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, _np_bool()))


def _constraints(annotation: Any) -> list[Any]:
    """The `annotated_types` constraints of an `Annotated[...]` (Interval split into parts)."""
    found: list[Any] = []
    for meta in getattr(annotation, "__metadata__", ()):
        if isinstance(meta, at.GroupedMetadata):
            found += [m for m in meta if isinstance(m, at.BaseMetadata)]
        elif isinstance(meta, at.BaseMetadata):
            found.append(meta)
    return found


def _satisfies(value: Any, c: Any) -> bool:
    """Whether `value` meets one constraint (NaN meets no bound); unknown kinds are trusted."""
    try:
        if isinstance(c, at.Gt):
            return bool(value > c.gt)
        if isinstance(c, at.Ge):
            return bool(value >= c.ge)
        if isinstance(c, at.Lt):
            return bool(value < c.lt)
        if isinstance(c, at.Le):
            return bool(value <= c.le)
        if isinstance(c, at.MultipleOf):
            return bool(value % c.multiple_of == 0)
        if isinstance(c, at.MinLen):
            return len(value) >= c.min_length
        if isinstance(c, at.MaxLen):
            return len(value) <= c.max_length
    except TypeError:  # a value the bound cannot be compared with: the type check speaks
        return False
    return True


_SYMBOL = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def _constraint_text(c: Any) -> str:
    for attr, symbol in _SYMBOL.items():
        if hasattr(c, attr):
            return f"{symbol} {getattr(c, attr)}"
    if isinstance(c, at.MultipleOf):
        return f"a multiple of {c.multiple_of}"
    if isinstance(c, at.MinLen):
        return f"at least {c.min_length} long"
    if isinstance(c, at.MaxLen):
        return f"at most {c.max_length} long"
    return repr(c)


def _describe(annotation: Any) -> str:
    if typing.get_origin(annotation) is typing.Annotated:
        parts = [_constraint_text(c) for c in _constraints(annotation)]
        return " and ".join([f"{_describe(annotation.__origin__)} {parts[0]}", *parts[1:]]
                            ) if parts else _describe(annotation.__origin__)
    if typing.get_origin(annotation) is typing.Literal:
        return "one of " + ", ".join(map(repr, typing.get_args(annotation)))
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def bounds(annotation: Any) -> tuple[float | None, float | None]:
    """(lowest, highest) value an annotated number may take, for a form's spin box (None: no
    bound). Strict bounds are returned as given; the compile check refuses the bound itself."""
    low = high = None
    for c in _constraints(annotation) if typing.get_origin(annotation) is typing.Annotated else ():
        low = getattr(c, "ge", getattr(c, "gt", low))
        high = getattr(c, "le", getattr(c, "lt", high))
    return low, high


def check_call(spec: FunctionSpec, kwargs: dict[str, Any],
               roots: AllowedRoots | None = None) -> list[tuple[str, str]]:
    """`(parameter, message)` for every way `kwargs` does not fit `spec`'s signature.

    With `roots` (the compiler passes the plate reader's), constraints that look at files
    (`problem(value, roots)`, e.g. `ClassifierFile`) are asked too, confined to the roots;
    without, nothing on disk is touched (a pipeline document arriving from the wire)."""
    found = []
    names = [p.name for p in spec.parameters]
    for key, value in kwargs.items():
        if key in spec.special_inputs:
            found.append((key, f"{spec.name}: {key!r} is a special input, linked by the compiler "
                               "from an earlier step's output; remove it from the keywords"))
            continue
        param = spec.parameter(key)
        if param is None:
            if not _accepts_any_kwargs(spec.func):
                known = ", ".join(names) or "none"
                found.append((key, f"{spec.name} has no parameter {key!r} (parameters: {known})"))
            continue
        mismatch = type_mismatch(value, param.annotation)
        if mismatch:
            found.append((key, f"{spec.name}: {key!r} {mismatch}"))
            continue
        found += _explained(spec, param.annotation, key, value, roots)
    for param in spec.parameters:
        if param.required and param.name not in kwargs:
            found.append((param.name, f"{spec.name} needs a value for {param.name!r}"))
        elif param.name not in kwargs:
            found += _explained(spec, param.annotation, param.name, param.default, roots)
    return found


def _explained(spec: FunctionSpec, annotation: Any, key: str, value: Any,
               roots: AllowedRoots | None) -> list[tuple[str, str]]:
    """What a constraint that knows more than a bound (e.g. `ClassifierFile`: the file is under
    the roots, exists, is regular, small enough and well formed) says is wrong with `value`."""
    if roots is None:
        return []
    found = []
    for constraint in _constraints(annotation):
        explain = getattr(constraint, "problem", None)
        message = explain(value, roots) if callable(explain) else None
        if message:
            found.append((key, f"{spec.name}: {message}"))
    return found


def validate_kwargs(steps: list[ResolvedStep], problems: ProblemList,
                    image_side: int | None = None, roots: AllowedRoots | None = None) -> None:
    """Every step's keyword arguments against its functions' signatures and constraints, then
    the size-like ones against the image the step sees (`parameter_bounds`; `image_side`: its
    longest side in pixels, None when unknown)."""
    for rs in steps:
        for chain in rs.groups.values():
            for spec, kwargs in chain:
                wrong = check_call(spec, kwargs, roots or UNCONFINED)
                typed = {k: v for k, v in kwargs.items() if k not in {p for p, _ in wrong}}
                for parameter, message in wrong + check_bounds(spec.name, typed, image_side):
                    problems.add(message, step_index=rs.index, step_name=rs.name,
                                 parameter=parameter)


def validate_config(pipeline: Pipeline, global_config: GlobalConfig,
                    problems: ProblemList) -> None:
    """Every configuration value that is set (global, pipeline, each step) must fit its field:
    `zarr_compression="lz4x"` is refused here, not by every well at write time."""
    levels = [("global", None, global_config), ("pipeline", None, pipeline.config)]
    levels += [("step", i, step.config) for i, step in enumerate(pipeline.steps)]
    for level, index, config in levels:
        if config is None:
            continue
        where = {"step_index": index, "step_name": pipeline.steps[index].display_name
                 } if index is not None else {}
        for field, value in config.set_fields().items():
            mismatch = type_mismatch(value, FIELD_TYPES[field])
            if mismatch:
                problems.add(f"{level} configuration {field!r} {mismatch}", parameter=field,
                             **where)


def validate_group_keys(
    steps: list[ResolvedStep], layout: PlateLayout, problems: ProblemList
) -> None:
    """A dict pattern may only route values the plate has (channel '3' on a 2-channel plate)."""
    for rs in steps:
        if rs.step.group_by is None:
            continue
        present = [str(v) for v in layout.values(rs.step.group_by)]
        for key in rs.groups:
            if key is not None and key not in present:
                problems.add(
                    f"{rs.step.group_by} {key!r} is not on this plate "
                    f"({rs.step.group_by} values: {', '.join(map(repr, present))})",
                    step_index=rs.index, step_name=rs.name, parameter=f"func[{key!r}]",
                )
