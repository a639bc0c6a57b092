"""A magicgui form for the keyword parameters of one registered function call."""

from __future__ import annotations

import ast
import inspect
import typing
from collections.abc import Callable
from typing import Any

from magicgui.widgets import Container, LineEdit, create_widget

from ...engine.compiler import bounds
from ...engine.functions.registry import FunctionSpec, Parameter


def _widget(param: Parameter, value: Any) -> Any:
    """magicgui's widget for the annotation; a Python-literal text field when it has none."""
    options = {"name": param.name, "label": param.name}
    annotation = None if param.annotation is inspect.Parameter.empty else param.annotation
    if value is not inspect.Parameter.empty:
        options["value"] = value
    base = annotation
    if typing.get_origin(annotation) is typing.Annotated:  # a range: the spin box's bounds
        base = annotation.__origin__
    if base in (int, float):
        # magicgui's default range (0..999) would refuse negative offsets or large thresholds.
        low, high = bounds(annotation)
        options["options"] = {"min": -1e9 if base is float else -(2**31 - 1),
                              "max": 1e9 if base is float else 2**31 - 1}
        if low is not None:
            options["options"]["min"] = low
        if high is not None:
            options["options"]["max"] = high
    try:
        if annotation is None:
            raise TypeError("no annotation")
        return create_widget(annotation=annotation, **options)
    except Exception:  # any annotation magicgui cannot map: edit the value as a literal
        text = "" if value is inspect.Parameter.empty else repr(value)
        widget = LineEdit(name=param.name, label=param.name, value=text)
        widget.tooltip = "a Python literal, e.g. 3, 0.5, 'otsu', (1, 2)"
        widget.hcs_literal = True
        return widget


def _value(widget: Any) -> Any:
    if getattr(widget, "hcs_literal", False):
        text = widget.value.strip()
        if not text:
            return inspect.Parameter.empty
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text  # a bare word is taken as a string
    return widget.value


class ParameterForm(Container):
    """One widget per parameter; `on_change(kwargs)` gets every parameter's current value."""

    def __init__(self, spec: FunctionSpec, kwargs: dict[str, Any],
                 on_change: Callable[[dict[str, Any]], None]) -> None:
        super().__init__(labels=True)
        self.spec = spec
        self._on_change = on_change
        for param in spec.parameters:
            self.append(_widget(param, kwargs.get(param.name, param.default)))
        self.changed.connect(lambda _: self._on_change(self.values()))

    def values(self) -> dict[str, Any]:
        """Current values; required parameters left empty are omitted (the compiler says so)."""
        out = {}
        for widget in self:
            value = _value(widget)
            if value is not inspect.Parameter.empty:
                out[widget.name] = value
        return out
