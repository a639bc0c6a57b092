"""The Pipeline dock: templates, steps, a searchable function list, parameter forms,
save/load.

The dock edits the session's engine `Pipeline` through `pipeline_edit`; it holds no pipeline
state of its own besides which step, group and call are selected. Two tabs (the steps with the
selected call's parameters; the function library) in scroll areas keep it usable on a
1366 x 768 screen. The library's function list is read from its index; where the index has
to be built first (once per installation, seconds), the dock lists the built-in functions at
once and the library's when a worker thread has built it: the GUI thread never waits for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qtpy.QtGui import QColor
from qtpy.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...engine.functions.registry import (
    FunctionSpec,
    library_index_ready,
    list_functions,
    registered_functions,
    spec_of,
)
from ...engine.plate.model import COMPONENTS
from .. import pipeline_edit as edit
from ..session import session_for
from . import step_words as words
from .param_form import ParameterForm
from .pipeline_files import PipelineFiles
from .scrolling import scrolling_tabs

_NO_GROUP = words.ALL_IMAGES
_SEARCH_HINT = "search functions (name, category, description)"
_LOADING_HINT = "search functions (listing the libraries' functions, once per installation...)"


class PipelineDock(QWidget):
    """Build the session's pipeline from registered functions."""

    def __init__(self, napari_viewer: Any) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.setObjectName("napari-hcs pipeline")
        self.form: ParameterForm | None = None
        self._quiet = False  # set while a parameter form edits, so the form is not rebuilt
        self.library_loaded = library_index_ready()
        self._specs = list_functions() if self.library_loaded else registered_functions()

        # Function library.
        self.search = QLineEdit()
        self.search.setPlaceholderText(_SEARCH_HINT if self.library_loaded else _LOADING_HINT)
        self.search.textChanged.connect(self._filter_functions)
        self.functions = QListWidget()
        self.functions.setMinimumHeight(90)
        self.functions.itemDoubleClicked.connect(lambda _: self.add_step())
        add = QPushButton(words.ADD_STEP[0])
        add.setToolTip(words.ADD_STEP[1])
        add.clicked.connect(lambda: self.add_step())
        chain = QPushButton(words.ADD_TO_STEP[0])
        chain.setToolTip(words.ADD_TO_STEP[1])
        chain.clicked.connect(lambda: self.chain_function())

        # Steps.
        self.steps = QListWidget()
        self.steps.currentRowChanged.connect(lambda _: self._show_step())
        up, down, remove = QPushButton("Up"), QPushButton("Down"), QPushButton("Remove")
        up.clicked.connect(lambda: self.move_step(-1))
        down.clicked.connect(lambda: self.move_step(1))
        remove.clicked.connect(lambda: self.remove_step())

        # The selected step.
        self.step_name = QLineEdit()
        self.step_name.setPlaceholderText("(function names)")
        self.step_name.editingFinished.connect(self._name_edited)
        self.stack = QLineEdit()
        self.stack.editingFinished.connect(self._stack_edited)
        self.group_by = QComboBox()
        self.group_by.addItems([words.NO_SPLIT, *[c for c in COMPONENTS if c != "well"]])
        self.group_by.currentTextChanged.connect(self._group_by_edited)
        self.group = QComboBox()
        self.group.currentTextChanged.connect(lambda _: self._show_chain())
        self.new_group = QLineEdit()
        self.new_group.setPlaceholderText("new group value, e.g. 2")
        self.new_group.returnPressed.connect(self._add_group)
        self.chain = QListWidget()
        self.chain.setMaximumHeight(70)
        self.chain.currentRowChanged.connect(lambda _: self._show_form())
        remove_call = QPushButton(words.REMOVE_FUNCTION)
        remove_call.clicked.connect(self._remove_call)
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet("color: #ff6b5e;")
        self.params = QVBoxLayout()

        self.files = PipelineFiles(self.session)

        library = QWidget()
        column = QVBoxLayout(library)
        column.addWidget(self.search)
        column.addWidget(self.functions, 1)
        column.addLayout(_row(add, chain))

        steps = QWidget()
        column = QVBoxLayout(steps)
        column.addWidget(self.steps, 1)
        self.steps.setMinimumHeight(70)
        column.addLayout(_row(up, down, remove))
        box = QGroupBox("Step")
        form = QFormLayout(box)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        for key, field in (("name", self.step_name), ("stack", self.stack),
                           ("group_by", self.group_by), ("group", _row(self.group,
                                                                       self.new_group)),
                           ("chain", self.chain)):
            label = QLabel(words.STEP_FIELDS[key][0])
            label.setToolTip(words.STEP_FIELDS[key][1])
            if isinstance(field, QWidget):
                field.setToolTip(words.STEP_FIELDS[key][1])
            form.addRow(label, field)
        form.addRow("", remove_call)
        form.addRow(self.problems)
        column.addWidget(box)
        params = QGroupBox("Settings of the selected function")
        params.setLayout(self.params)
        column.addWidget(params, 1)

        self.tabs = scrolling_tabs([(steps, "Steps"), (library, "Add function")])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.files)
        layout.addWidget(self.tabs, 1)

        self._filter_functions("")
        if not self.library_loaded:
            self._load_library()
        self.session.pipeline_changed.connect(lambda _: self.refresh())
        self.session.problems_changed.connect(lambda _: self._mark_problems())
        self.session.ensure_pipeline()
        self.refresh()

    # -- model access -------------------------------------------------------------------------
    @property
    def pipeline(self) -> Any:
        return self.session.ensure_pipeline()

    def current_step(self) -> Any:
        row = self.steps.currentRow()
        return self.pipeline.steps[row] if 0 <= row < len(self.pipeline.steps) else None

    def current_group(self) -> str | None:
        text = self.group.currentText()
        return None if text in ("", _NO_GROUP) else text

    def _changed(self) -> None:
        """The pipeline was edited here: tell the other docks, keep this dock's selection."""
        self.session.pipeline_changed.emit(self.pipeline)

    # -- functions ----------------------------------------------------------------------------
    def _load_library(self) -> None:
        from napari.qt.threading import create_worker

        self._library_worker = create_worker(list_functions, _start_thread=False,
                                             _ignore_errors=True)
        self._library_worker.returned.connect(self._library_listed)
        self._library_worker.errored.connect(
            lambda exc: self.search.setPlaceholderText(f"{_SEARCH_HINT} (library: {exc})"))
        self._library_worker.start()

    def _library_listed(self, specs: list[FunctionSpec]) -> None:
        self._specs, self.library_loaded = specs, True
        self.search.setPlaceholderText(_SEARCH_HINT)
        selected = self.functions.currentItem()
        name = selected.data(256) if selected is not None else None
        self._filter_functions(self.search.text())
        for row in range(self.functions.count()):  # keep the user's selection
            if self.functions.item(row).data(256) == name:
                self.functions.setCurrentRow(row)

    def _filter_functions(self, text: str) -> None:
        self.functions.clear()
        for spec in edit.search_functions(self._specs, text):
            item = QListWidgetItem(f"{spec.name}  [{spec.category}, {spec.input_memory}]")
            item.setToolTip(f"{spec.qualname}\n\n{spec.func.__doc__ or spec.summary}")
            item.setData(256, spec.name)  # Qt.UserRole
            self.functions.addItem(item)
        if self.functions.count():
            self.functions.setCurrentRow(0)

    def selected_function(self) -> FunctionSpec | None:
        item = self.functions.currentItem()
        return spec_of(item.data(256)) if item is not None else None

    def add_step(self, name: str | None = None) -> int:
        """Append a step calling `name` (or the selected function); returns its index."""
        spec = spec_of(name) if name else self.selected_function()
        if spec is None:
            return -1
        index = edit.add_step(self.pipeline, spec)
        self._changed()
        self.steps.setCurrentRow(index)
        self.tabs.setCurrentIndex(0)  # the new step and its parameters
        return index

    def chain_function(self, name: str | None = None) -> None:
        """Append `name` (or the selected function) to the current step's current group."""
        step, spec = self.current_step(), spec_of(name) if name else self.selected_function()
        if step is None or spec is None:
            return
        edit.append_call(step, spec, self.current_group())
        self._changed()
        self.chain.setCurrentRow(self.chain.count() - 1)

    # -- steps --------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw the step list from the model, keeping the selection where possible."""
        if self._quiet:
            return
        row = self.steps.currentRow()
        self.steps.blockSignals(True)
        self.steps.clear()
        for i, step in enumerate(self.pipeline.steps):
            self.steps.addItem(f"{i + 1}. {step.display_name}")
        self.steps.blockSignals(False)
        if self.pipeline.steps:
            self.steps.setCurrentRow(min(max(row, 0), len(self.pipeline.steps) - 1))
        self._mark_problems()
        self._show_step()

    def move_step(self, delta: int) -> None:
        row = self.steps.currentRow()
        if row < 0:
            return
        target = edit.move_step(self.pipeline, row, delta)
        self._changed()
        self.steps.setCurrentRow(target)

    def remove_step(self) -> None:
        row = self.steps.currentRow()
        if row >= 0:
            edit.remove_step(self.pipeline, row)
            self._changed()

    def _mark_problems(self) -> None:
        """Steps the last compile complained about turn red, the message as tooltip."""
        by_step: dict[int, list[str]] = {}
        for p in self.session.problems:
            if p.step_index is not None:
                by_step.setdefault(p.step_index, []).append(str(p))
        for i in range(self.steps.count()):
            item = self.steps.item(i)
            messages = by_step.get(i, [])
            item.setForeground(QColor("#ff6b5e") if messages else QColor("white"))
            item.setToolTip("\n".join(messages))
        step_row = self.steps.currentRow()
        self.problems.setText("\n".join(by_step.get(step_row, [])))

    def _show_step(self) -> None:
        step = self.current_step()
        for w in (self.step_name, self.stack, self.group_by):
            w.blockSignals(True)
        self.step_name.setText(step.name or "" if step else "")
        self.stack.setText(", ".join(step.variable_components) if step else "")
        self.group_by.setCurrentText(step.group_by or words.NO_SPLIT if step else words.NO_SPLIT)
        for w in (self.step_name, self.stack, self.group_by):
            w.blockSignals(False)
        self.group.blockSignals(True)
        self.group.clear()
        if step is not None:
            keys = list(edit.groups(step))
            self.group.addItems([_NO_GROUP if k is None else k for k in keys] or [_NO_GROUP])
        self.group.blockSignals(False)
        self._mark_problems()
        self._show_chain()

    def _name_edited(self) -> None:
        step = self.current_step()
        if step is not None and (self.step_name.text().strip() or None) != step.name:
            step.name = self.step_name.text().strip() or None
            self._changed()

    def _stack_edited(self) -> None:
        step = self.current_step()
        parts = tuple(p.strip() for p in self.stack.text().split(",") if p.strip())
        if step is not None and parts != tuple(step.variable_components):
            step.variable_components = parts
            self._changed()

    def _group_by_edited(self, text: str) -> None:
        step = self.current_step()
        if step is None:
            return
        component = None if text == words.NO_SPLIT else text
        reader = self.session.reader
        keys = [str(v) for v in reader.layout.values(component)] if reader and component else None
        edit.set_group_by(step, component, keys)
        self._changed()

    def _add_group(self) -> None:
        step, key = self.current_step(), self.new_group.text().strip()
        if step is None or not key or step.group_by is None:
            return
        groups = edit.groups(step)
        if key not in groups:
            spec = self.selected_function()
            groups[key] = [[spec.func, {}]] if spec else []
            edit.set_groups(step, groups)
            self._changed()
        self.group.setCurrentText(key)
        self.new_group.clear()

    # -- chain and parameters -----------------------------------------------------------------
    def _show_chain(self) -> None:
        step = self.current_step()
        self.chain.blockSignals(True)
        row = self.chain.currentRow()
        self.chain.clear()
        if step is not None:
            for call in edit.groups(step).get(self.current_group(), []):
                self.chain.addItem(edit.call_label(call))
        self.chain.blockSignals(False)
        if self.chain.count():
            self.chain.setCurrentRow(min(max(row, 0), self.chain.count() - 1))
        else:
            self._show_form()

    def _remove_call(self) -> None:
        step, row = self.current_step(), self.chain.currentRow()
        if step is not None and row >= 0:
            edit.remove_call(step, self.current_group(), row)
            self._changed()

    def _show_form(self) -> None:
        if self.form is not None:
            self.params.removeWidget(self.form.native)
            self.form.native.deleteLater()
            self.form = None
        step, row = self.current_step(), self.chain.currentRow()
        chain = edit.groups(step).get(self.current_group(), []) if step else []
        if not 0 <= row < len(chain):
            return
        ref, kwargs = chain[row]
        group = self.current_group()
        self.form = ParameterForm(spec_of(ref), kwargs,
                                  lambda values: self._kwargs_edited(group, row, values))
        self.params.addWidget(self.form.native)

    def _kwargs_edited(self, group: str | None, row: int, values: dict[str, Any]) -> None:
        step = self.current_step()
        if step is None:
            return
        edit.set_kwargs(step, group, row, values)
        item = self.chain.item(row)
        if item is not None:
            item.setText(edit.call_label(edit.groups(step)[group][row]))
        self.steps.currentItem().setText(f"{self.steps.currentRow() + 1}. {step.display_name}")
        self._quiet = True
        try:
            self.session.pipeline_changed.emit(self.pipeline)
        finally:
            self._quiet = False

    # -- files ------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        return self.files.save(path)

    def load(self, path: str | Path) -> Any:
        pipeline = self.files.load(path)
        self.steps.setCurrentRow(0)
        return pipeline


def _row(*widgets: QWidget) -> QHBoxLayout:
    row = QHBoxLayout()
    for w in widgets:
        row.addWidget(w)
    return row
