"""Phase 2: check keyword arguments against signatures and dict-pattern keys against the plate."""

from __future__ import annotations

import inspect
import numbers
import types
import typing
from collections.abc import Sequence
from functools import cache
from typing import Any

from ..functions.registry import FunctionSpec
from ..plate.model import PlateLayout
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
        return isinstance(value, (tuple, list))
    if kind is dict:
        return isinstance(value, dict)
    return None


def _np_bool() -> type:
    import numpy as np

    return np.bool_


def _describe(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def check_call(spec: FunctionSpec, kwargs: dict[str, Any]) -> list[tuple[str, str]]:
    """`(parameter, message)` for every way `kwargs` does not fit `spec`'s signature."""
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
    for param in spec.parameters:
        if param.required and param.name not in kwargs:
            found.append((param.name, f"{spec.name} needs a value for {param.name!r}"))
    return found


def validate_kwargs(steps: list[ResolvedStep], problems: ProblemList) -> None:
    for rs in steps:
        for chain in rs.groups.values():
            for spec, kwargs in chain:
                for parameter, message in check_call(spec, kwargs):
                    problems.add(message, step_index=rs.index, step_name=rs.name,
                                 parameter=parameter)


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
