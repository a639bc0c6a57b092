"""Function patterns: the four forms a step's `func` may take, normalised to one shape.

- `f`: one registered callable (or its registered name, a string);
- `(f, {"sigma": 2})`: with keyword arguments;
- `[a, (b, kw), c]`: a chain, applied in sequence;
- `{"1": a, "2": [(b, kw), c]}`: routed by the value of the step's `group_by` component.

`normalize_pattern` turns any of them into `{group_key_or_None: [(FunctionSpec, kwargs)]}`
(dict keys as strings, since plate component values are compared as strings), collecting every
problem before raising one `PatternError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

from ..functions.registry import FunctionSpec, RegistryError, spec_of

FunctionRef = Callable[..., Any] | str
PatternKind = Literal["single", "kwargs", "chain", "dict"]
Chain = list[tuple[FunctionSpec, dict[str, Any]]]


class PatternError(ValueError):
    """A malformed function pattern; `.messages` lists every problem found."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = list(messages)
        super().__init__("; ".join(self.messages))


def _is_ref(obj: Any) -> bool:
    return isinstance(obj, str) or (callable(obj) and not isinstance(obj, type))


def _is_call(obj: Any) -> bool:
    """`f` or `(f, kwargs)`: one call of a chain."""
    if _is_ref(obj):
        return True
    return isinstance(obj, tuple) and len(obj) == 2 and _is_ref(obj[0]) and isinstance(
        obj[1], Mapping
    )


def pattern_kind(pattern: Any) -> PatternKind:
    """Which of the four forms `pattern` has (raises PatternError for none of them)."""
    if _is_ref(pattern):
        return "single"
    if isinstance(pattern, tuple) and _is_call(pattern):
        return "kwargs"
    if isinstance(pattern, list):
        return "chain"
    if isinstance(pattern, Mapping):
        return "dict"
    raise PatternError([_shape_message("pattern", pattern)])


def _shape_message(where: str, obj: Any) -> str:
    return (
        f"{where}: {obj!r} is not a function pattern; use f, (f, {{'param': value}}), "
        "[f, g] or {'group value': f}"
    )


def _resolve_call(call: Any, where: str, errors: list[str]) -> tuple[FunctionSpec, dict] | None:
    if not _is_call(call):
        if isinstance(call, list):
            errors.append(f"{where}: a chain cannot contain another list; flatten it")
        else:
            errors.append(_shape_message(where, call))
        return None
    ref, kwargs = (call, {}) if _is_ref(call) else call
    bad_keys = [k for k in kwargs if not isinstance(k, str)]
    if bad_keys:
        errors.append(f"{where}: keyword names must be strings, got {bad_keys!r}")
        return None
    try:
        spec = spec_of(ref)
    except RegistryError as exc:
        errors.append(f"{where}: {exc}")
        return None
    return spec, dict(kwargs)


def _resolve_chain(chain: Any, where: str, errors: list[str]) -> Chain:
    calls = chain if isinstance(chain, list) else [chain]
    if not calls:
        errors.append(f"{where}: empty chain; give at least one function")
    resolved = []
    for i, call in enumerate(calls):
        at = f"{where}[{i}]" if isinstance(chain, list) else where
        item = _resolve_call(call, at, errors)
        if item is not None:
            resolved.append(item)
    return resolved


def normalize_pattern(pattern: Any, group_by: str | None = None) -> dict[str | None, Chain]:
    """`{group value or None: [(spec, kwargs), ...]}` for any of the four pattern forms."""
    errors: list[str] = []
    result: dict[str | None, Chain] = {}
    if isinstance(pattern, Mapping):
        if group_by is None:
            errors.append(
                "a dict pattern routes by a component: set group_by (e.g. group_by='channel')"
            )
        if not pattern:
            errors.append("empty dict pattern; map at least one group value to a function")
        for key, chain in pattern.items():
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                errors.append(f"pattern key {key!r}: keys must be strings (or ints), e.g. '1'")
                continue
            if str(key) in result:
                errors.append(f"pattern key {key!r}: given twice (as {key!r} and '{key}')")
                continue
            result[str(key)] = _resolve_chain(chain, f"pattern[{key!r}]", errors)
    elif isinstance(pattern, list) or _is_call(pattern):
        result[None] = _resolve_chain(pattern, "pattern", errors)
    else:
        errors.append(_shape_message("pattern", pattern))
    if errors:
        raise PatternError(errors)
    return result


def iter_calls(pattern: Any) -> Iterator[tuple[str | None, FunctionRef, Mapping[str, Any]]]:
    """Every `(group key, function ref, kwargs)` of a well-formed pattern, without resolving."""
    groups = pattern.items() if isinstance(pattern, Mapping) else [(None, pattern)]
    for key, chain in groups:
        for call in chain if isinstance(chain, list) else [chain]:
            if _is_ref(call):
                yield key, call, {}
            elif _is_call(call):
                yield key, call[0], call[1]
            else:
                raise PatternError([_shape_message("pattern", call)])
