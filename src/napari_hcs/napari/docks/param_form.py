"""A magicgui form for the keyword parameters of one registered function call.

The widget follows the parameter's annotation (the registry's, which for library functions
comes from their docstrings) *and* its current value: `Literal` choices become a combo box,
int/float/bool/str their spin box, check box or line edit; a union (`float | tuple[float,
...] | None`) gets the widget of the member the value belongs to. Where no widget can hold the
value exactly (None, a tuple, a footprint array, 1e-4 in a two-decimal spin box, a required
parameter not set yet) the parameter is edited as a Python literal in a line edit, so every
value a function accepts can be shown and given back unchanged.
"""

from __future__ import annotations

import ast
import inspect
import math
import typing
from collections.abc import Callable
from typing import Any

from magicgui.widgets import Container, Label, LineEdit, create_widget

from ...engine.compiler import bounds, type_mismatch
from ...engine.functions.registry import FunctionSpec, Parameter

_SIMPLE = (bool, int, float, str)
_LIMIT = {int: 2**31 - 1, float: 1e9}


def _fits(value: Any, annotation: Any) -> bool:
    if typing.get_origin(annotation) is typing.Literal:
        return any(value == c and type(value) is type(c) for c in typing.get_args(annotation))
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return annotation is str and isinstance(value, str)


def widget_annotation(annotation: Any, value: Any) -> Any:
    """The simple annotation (int, float, bool, str or a Literal) a widget can edit `value`
    with, or None when the value needs the literal editor."""
    if annotation is inspect.Parameter.empty or value is inspect.Parameter.empty:
        return None
    if typing.get_origin(annotation) is typing.Annotated:  # a range: the type it bounds
        annotation = annotation.__origin__
    origin = typing.get_origin(annotation)
    members = typing.get_args(annotation) if origin in (typing.Union, _union_type()) else (
        annotation,)
    for member in members:
        simple = member in _SIMPLE or typing.get_origin(member) is typing.Literal
        if simple and _fits(value, member):
            return member
    return None


def _union_type() -> Any:
    import types

    return types.UnionType


def _widget(param: Parameter, value: Any) -> Any:
    """magicgui's widget for the parameter's annotation and value, else a literal editor."""
    annotation = widget_annotation(param.annotation, value)
    options: dict[str, Any] = {"name": param.name, "label": param.name}
    if annotation in (int, float):
        if not (isinstance(value, (int, float)) and math.isfinite(value)
                and abs(value) <= _LIMIT[annotation]):
            annotation = None
        else:  # magicgui's default range (0..999) would refuse negative or large values
            low, high = bounds(param.annotation)  # the parameter's own range, when it has one
            options["options"] = {
                "min": -_LIMIT[annotation] if low is None else max(low, -_LIMIT[annotation]),
                "max": _LIMIT[annotation] if high is None else min(high, _LIMIT[annotation])}
    if annotation is not None:
        try:
            widget = create_widget(annotation=annotation, value=value, **options)
            if widget.value == value:  # a float spin box rounds 1e-4 to 0.0: not good enough
                widget.tooltip = param.doc
                return widget
        except Exception:  # noqa: S110 - any annotation magicgui cannot map: literal editor
            pass
    return _literal(param, value)


def _literal(param: Parameter, value: Any) -> LineEdit:
    text = "" if value is inspect.Parameter.empty else repr(value)
    widget = LineEdit(name=param.name, label=param.name, value=text)
    hint = "a Python literal, e.g. 3, 0.5, 'otsu', (1, 2), None"
    if param.required and value is inspect.Parameter.empty:
        hint = "required: " + hint
    widget.tooltip = f"{param.doc}\n{hint}" if param.doc else hint
    widget.hcs_literal = True
    return widget


def _value(widget: Any) -> Any:
    if getattr(widget, "hcs_literal", False):
        text = widget.value.strip()
        if not text:
            return inspect.Parameter.empty
        if text.lower().lstrip("+-") in ("nan", "inf"):  # repr() of non-finite floats
            return float(text)
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text  # a bare word is taken as a string
    return widget.value


#: How a refused value's reason looks under its field.
WHY_STYLE = "color: #ff6b5e;"


class ParameterForm(Container):
    """One widget per parameter, each with a line under it saying why a value is refused;
    `on_change(kwargs)` gets every parameter's current value while all of them fit (a spin box
    holds a value its range allows but the annotation may not: `sigma > 0` and 0 typed)."""

    def __init__(self, spec: FunctionSpec, kwargs: dict[str, Any],
                 on_change: Callable[[dict[str, Any]], None]) -> None:
        super().__init__(labels=True)
        self.spec = spec
        self._on_change = on_change
        self.why: dict[str, Label] = {}
        for param in spec.parameters:
            self.append(_widget(param, kwargs.get(param.name, param.default)))
        self.tooltip = spec.summary
        self.changed.connect(lambda _: self._changed())

    def _changed(self) -> None:
        if not self.problems():
            self._on_change(self.values())

    def problems(self) -> dict[str, str]:
        """Parameter -> why its value is refused (shown under the field)."""
        values, found = self.values(), {}
        for param in self.spec.parameters:
            why = None
            if param.name in values and param.annotation is not inspect.Parameter.empty:
                why = type_mismatch(values[param.name], param.annotation)
            if why:
                found[param.name] = why
            self._show_why(param.name, why)
        return found

    def _show_why(self, name: str, why: str | None) -> None:
        """The reason in red under the field (made the first time one is needed)."""
        label = self.why.get(name)
        if label is None:
            if not why:
                return
            label = self.why[name] = Label(name=f"{name}_why", label="")
            label.native.setStyleSheet(WHY_STYLE)
            label.native.setWordWrap(True)
            self.insert(self.index(self[name]) + 1, label)
        label.value = f"{name} {why}" if why else ""
        label.visible = bool(why)

    def values(self) -> dict[str, Any]:
        """Current values; required parameters left empty are omitted (the compiler says so)."""
        out = {}
        for widget in self:
            if widget in self.why.values():
                continue
            value = _value(widget)
            if value is not inspect.Parameter.empty:
                out[widget.name] = value
        return out
