"""The Config dock: global -> pipeline -> step settings as forms.

An empty field inherits: its placeholder shows the value it would get and the level it comes
from (engine `resolve_with_source`). A field that overrides is highlighted. Typing writes a new
config object into the session (configs are frozen dataclasses); a value that does not fit the
field's type (`FIELD_TYPES`: choices, ranges) is refused here with the compiler's words. The
Run dock's workers and device are the global level of this same configuration.
"""

from __future__ import annotations

import ast
from typing import Any

from qtpy.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from ...engine.compiler import type_mismatch
from ...engine.pipeline import (
    DEFAULTS,
    DESCRIPTIONS,
    FIELD_TYPES,
    GlobalConfig,
    PipelineConfig,
    StepConfig,
    resolve_with_source,
)
from ..session import session_for
from .scrolling import scrolling

LEVELS: tuple[str, ...] = ("global", "pipeline", "step")
_FIELDS = {
    "global": tuple(GlobalConfig.__dataclass_fields__),
    "pipeline": tuple(PipelineConfig.__dataclass_fields__),
    "step": tuple(StepConfig.__dataclass_fields__),
}
OVERRIDE_STYLE = "background-color: #4a3b10; font-weight: bold;"
ERROR_STYLE = "border: 1px solid #ff6b5e;"


def parse_value(field: str, text: str) -> Any:
    """Text typed into a field -> a value of the field's type (None when empty: inherit)."""
    text = text.strip()
    if not text:
        return None
    kind = type(DEFAULTS[field])
    if kind is bool:
        if text.lower() in ("true", "yes", "1", "on"):
            return True
        if text.lower() in ("false", "no", "0", "off"):
            return False
        raise ValueError(f"{field}: expected true or false, got {text!r}")
    if kind is int:
        try:
            value = int(ast.literal_eval(text))
        except (ValueError, SyntaxError, TypeError):
            raise ValueError(f"{field}: expected a whole number, got {text!r}") from None
    else:
        value = text.strip("'\"")
    mismatch = type_mismatch(value, FIELD_TYPES[field])
    if mismatch:
        raise ValueError(f"{field} {mismatch}")
    return value


class ConfigDock(QWidget):
    """Three forms; the step form edits the step chosen in its combo box."""

    def __init__(self, napari_viewer: Any) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.setObjectName("napari-hcs config")
        self.fields: dict[str, dict[str, QLineEdit]] = {}
        self.step_choice = QComboBox()
        self.step_choice.currentIndexChanged.connect(lambda _: self.refresh())
        page = QWidget()
        layout = QVBoxLayout(page)
        for level in LEVELS:
            box = QGroupBox(f"{level.capitalize()} settings")
            form = QFormLayout(box)
            if level == "step":
                form.addRow("step", self.step_choice)
            self.fields[level] = {}
            for name in _FIELDS[level]:
                edit = QLineEdit()
                edit.setToolTip(DESCRIPTIONS.get(name, ""))
                edit.editingFinished.connect(lambda lv=level, f=name: self._edited(lv, f))
                self.fields[level][name] = edit
                form.addRow(name, edit)
            layout.addWidget(box)
        hint = QLabel("Empty fields inherit; the grey text shows the value and where it comes "
                      "from. Highlighted fields override.")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        layout.addStretch(1)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scrolling(page))  # three forms: taller than a 768 px screen's docks
        self.session.pipeline_changed.connect(lambda _: self._steps_changed())
        self.session.config_changed.connect(lambda _: self.refresh())
        self._steps_changed()

    # -- the three levels ---------------------------------------------------------------------
    def _pipeline(self) -> Any:
        return self.session.ensure_pipeline()

    def _step(self) -> Any:
        steps = self._pipeline().steps
        i = self.step_choice.currentIndex()
        return steps[i] if 0 <= i < len(steps) else None

    def config(self, level: str) -> Any:
        if level == "global":
            return self.session.global_config
        if level == "pipeline":
            return self._pipeline().config or PipelineConfig()
        step = self._step()
        return (step.config or StepConfig()) if step is not None else None

    def _inherited(self, level: str, field: str) -> tuple[Any, str]:
        """What `field` resolves to at `level` when that level does not set it."""
        g = self.session.global_config
        if level == "global":
            return resolve_with_source(field)
        if level == "pipeline":
            return resolve_with_source(field, None, None, g)
        return resolve_with_source(field, None, self._pipeline().config, g)

    # -- view ---------------------------------------------------------------------------------
    def _steps_changed(self) -> None:
        index = self.step_choice.currentIndex()
        self.step_choice.blockSignals(True)
        self.step_choice.clear()
        self.step_choice.addItems(
            [f"{i + 1}. {s.display_name}" for i, s in enumerate(self._pipeline().steps)])
        self.step_choice.setCurrentIndex(min(max(index, 0), self.step_choice.count() - 1))
        self.step_choice.blockSignals(False)
        self.refresh()

    def refresh(self) -> None:
        for level in LEVELS:
            config = self.config(level)
            for name, edit in self.fields[level].items():
                edit.setEnabled(config is not None)
                value = getattr(config, name, None) if config is not None else None
                inherited, source = self._inherited(level, name)
                edit.setPlaceholderText(f"{inherited} (from {source})")
                edit.setText("" if value is None else str(value))
                edit.setStyleSheet(OVERRIDE_STYLE if value is not None else "")

    def is_override(self, level: str, field: str) -> bool:
        return getattr(self.config(level), field, None) is not None

    # -- edits --------------------------------------------------------------------------------
    def set_value(self, level: str, field: str, value: Any) -> None:
        """Set (or with None, clear) one field at one level and tell the other docks."""
        config = self.config(level)
        if config is None:
            return
        new = config.merged(**{field: value})
        if level == "global":
            self.session.set_global_config(new)
        elif level == "pipeline":
            self._pipeline().config = new if new.set_fields() else None
            self.session.pipeline_changed.emit(self._pipeline())
        else:
            self._step().config = new if new.set_fields() else None
            self.session.pipeline_changed.emit(self._pipeline())
        self.refresh()

    def _edited(self, level: str, field: str) -> None:
        edit = self.fields[level][field]
        try:
            value = parse_value(field, edit.text())
        except ValueError as exc:
            edit.setStyleSheet(ERROR_STYLE)
            edit.setToolTip(str(exc))
            return
        edit.setToolTip(DESCRIPTIONS.get(field, ""))
        if value != getattr(self.config(level), field, None):
            self.set_value(level, field, value)
