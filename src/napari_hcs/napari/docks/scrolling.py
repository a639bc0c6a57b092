"""Docks that fit a small screen: pages in scroll areas, several pages as tabs."""

from __future__ import annotations

from collections.abc import Sequence

from qtpy.QtWidgets import QScrollArea, QTabWidget, QWidget


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
