"""Docks that fit a small screen: pages in scroll areas, several pages as tabs, long choice
lists one can type into."""

from __future__ import annotations

from collections.abc import Sequence

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QComboBox, QCompleter, QScrollArea, QTabWidget, QWidget


def scrolling(page: QWidget) -> QScrollArea:
    """`page` in a scroll area: the dock can be shorter than the page."""
    scroll = QScrollArea()
    scroll.setWidget(page)
    scroll.setWidgetResizable(True)
    return scroll


def scrolling_tabs(pages: Sequence[tuple[QWidget, str]]) -> QTabWidget:
    """One tab per (page, title), each page scrolling."""
    tabs = QTabWidget()
    for page, title in pages:
        tabs.addTab(scrolling(page), title)
    return tabs


def searchable(combo: QComboBox) -> QComboBox:
    """Let one type into `combo`: the popup lists the choices containing what is typed (any
    case), so one of thousands (a profile's per-well features) is a few keystrokes away."""
    combo.setEditable(True)
    combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
    completer = combo.completer() or QCompleter(combo.model(), combo)
    completer.setFilterMode(Qt.MatchFlag.MatchContains)
    completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
    combo.setCompleter(completer)
    return combo
