"""Editing a `Pipeline` in place: the operations the Pipeline dock offers, without Qt.

A step's function pattern is edited as *groups*: `{group value or None: [[ref, kwargs], ...]}`
(None when the step has no `group_by`). `set_groups` writes the groups back in the simplest of
the four pattern forms, so a saved pipeline file reads like one written by hand.
"""

from __future__ import annotations

from typing import Any

from ..engine.functions.registry import FunctionSpec, spec_of
from ..engine.pipeline import Pipeline, Step, iter_calls

Call = list[Any]  # [function ref, kwargs dict]: mutable, so forms can edit kwargs in place
Groups = dict[str | None, list[Call]]


def groups(step: Step) -> Groups:
    """The step's pattern as editable groups (string keys for dict patterns)."""
    result: Groups = {}
    for key, ref, kwargs in iter_calls(step.func):
        result.setdefault(None if key is None else str(key), []).append([ref, dict(kwargs)])
    return result


def _call_pattern(call: Call) -> Any:
    ref, kwargs = call
    return (ref, dict(kwargs)) if kwargs else ref


def _chain_pattern(chain: list[Call]) -> Any:
    return _call_pattern(chain[0]) if len(chain) == 1 else [_call_pattern(c) for c in chain]


def set_groups(step: Step, new_groups: Groups) -> None:
    """Write `new_groups` back into `step.func` (empty chains are dropped)."""
    kept = {k: chain for k, chain in new_groups.items() if chain}
    if list(kept) in ([], [None]):
        step.func = _chain_pattern(kept[None]) if kept else []
        return
    step.func = {k: _chain_pattern(chain) for k, chain in kept.items() if k is not None}


def new_step(spec: FunctionSpec) -> Step:
    """A step calling one function with its defaults."""
    return Step(spec.func)


def add_step(pipeline: Pipeline, spec: FunctionSpec, index: int | None = None) -> int:
    """Insert a new step (at the end by default); returns its index."""
    index = len(pipeline.steps) if index is None else index
    pipeline.steps.insert(index, new_step(spec))
    return index


def remove_step(pipeline: Pipeline, index: int) -> None:
    del pipeline.steps[index]


def move_step(pipeline: Pipeline, index: int, delta: int) -> int:
    """Move a step up (-1) or down (+1); returns its new index (unchanged at either end)."""
    target = index + delta
    if not 0 <= target < len(pipeline.steps):
        return index
    steps = pipeline.steps
    steps[index], steps[target] = steps[target], steps[index]
    return target


def append_call(step: Step, spec: FunctionSpec, group: str | None = None) -> None:
    """Chain `spec` after the last call of `group` (creating the group)."""
    g = groups(step)
    g.setdefault(group, []).append([spec.func, {}])
    set_groups(step, g)


def remove_call(step: Step, group: str | None, position: int) -> None:
    g = groups(step)
    del g[group][position]
    set_groups(step, g)


def set_group_by(step: Step, group_by: str | None, keys: list[str] | None = None) -> None:
    """Switch a step between one chain and per-value chains.

    Turning grouping on copies the current chain to every key in `keys` (e.g. each channel), a
    starting point the user then edits; turning it off keeps the first group's chain.
    """
    g = groups(step)
    step.group_by = group_by
    if group_by is None:
        first = next(iter(g.values()), [])
        set_groups(step, {None: first})
    elif None in g:
        chain = g[None]
        set_groups(step, {k: [[ref, dict(kw)] for ref, kw in chain] for k in (keys or ["1"])})


def set_kwargs(step: Step, group: str | None, position: int, kwargs: dict[str, Any]) -> None:
    """Replace the keyword arguments of one call; values equal to the default are dropped."""
    g = groups(step)
    ref = g[group][position][0]
    spec = spec_of(ref)
    kept = {}
    for name, value in kwargs.items():
        param = spec.parameter(name)
        if param is None or param.required or param.default != value:
            kept[name] = value
    g[group][position][1] = kept
    set_groups(step, g)


def call_label(call: Call) -> str:
    ref, kwargs = call
    name = ref if isinstance(ref, str) else getattr(ref, "__name__", repr(ref))
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    return f"{name}({args})"


def search_functions(specs: list[FunctionSpec], text: str) -> list[FunctionSpec]:
    """Specs whose name, category or summary contain every word of `text` (case-insensitive)."""
    words = text.lower().split()
    return [s for s in specs
            if all(w in f"{s.name} {s.category} {s.summary}".lower() for w in words)]
