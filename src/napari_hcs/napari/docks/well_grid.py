"""The plate as a grid of well buttons: present/absent, coloured by state or a measurement."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QGridLayout, QLabel, QPushButton, QSizePolicy, QWidget

from ...engine.plate.wells import format_well, row_letters

#: Well colours by run state (see `session.WELL_STATES`).
STATE_COLOURS: dict[str, str] = {
    "queued": "#9a9a9a",  # light grey: waiting its turn
    "running": "#e0a000",
    "ok": "#2e9e44",
    "failed": "#d0342c",
    "cancelled": "#6a4c93",  # violet: told apart from queued at a glance
}
PRESENT = "#3a6ea5"
ABSENT = "#262930"


class WellGrid(QWidget):
    """Rows x columns of buttons; `well_clicked(well)` fires for wells the plate has."""

    well_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QGridLayout(self)
        self._layout.setSpacing(2)
        self.buttons: dict[str, QPushButton] = {}
        self.present: set[str] = set()
        self.selected: str | None = None

    def set_plate(self, rows: int, columns: int, wells: Iterable[str]) -> None:
        """Rebuild the grid; wells not in `wells` are drawn but disabled."""
        while self._layout.count():
            item = self._layout.takeAt(0)
            widget = item.widget()
            if widget is not None:  # off screen now, not at the next event loop's turn
                widget.hide()
                widget.deleteLater()
        self.buttons.clear()
        self.present = set(wells)
        self.selected = None
        # From 96 wells on, buttons are small and unlabelled: the row letters and column numbers
        # around the grid name them, and so does each tooltip.
        small = columns >= 12  # a 96-well grid fits a 240 px dock
        labelled = rows * columns <= 24
        fixed, free = QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred
        for c in range(columns):  # headers keep their text's size; the wells take the rest
            self._layout.addWidget(self._header(f"{c + 1}", (free, fixed)), 0, c + 1)
        for r in range(rows):
            self._layout.addWidget(self._header(row_letters(r), (fixed, free)), r + 1, 0)
            for c in range(columns):
                well = format_well(r, c)
                button = QPushButton(well if labelled else "")
                button.setToolTip(well)
                button.setProperty("hcs_well", well)
                button.setEnabled(well in self.present)
                button.setMinimumSize(12 if small else 20, 12 if small else 16)
                button.setMaximumSize(96, 28 if small else 56)  # a 4-well plate: not the dock
                button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
                button.clicked.connect(lambda _=False, w=well: self._clicked(w))
                self.buttons[well] = button
                self._layout.addWidget(button, r + 1, c + 1)
        self.reset_colours()

    @staticmethod
    def _header(text: str, policy: tuple[QSizePolicy.Policy, QSizePolicy.Policy]) -> QLabel:
        label = QLabel(text)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setSizePolicy(*policy)
        return label

    def _clicked(self, well: str) -> None:
        self.select(well)
        self.well_clicked.emit(well)

    def select(self, well: str | None) -> None:
        """Outline the selected well (restyling only the two buttons that change)."""
        previous, self.selected = self.selected, well
        for name in {previous, well} - {None}:
            if name in self.buttons:
                self._restyle(self.buttons[name])

    def _restyle(self, button: QPushButton) -> None:
        colour = button.property("hcs_colour") or ABSENT
        selected = button.property("hcs_well") == self.selected
        border = "2px solid white" if selected else "1px solid #111"
        button.setStyleSheet(f"background-color: {colour}; border: {border}; color: white;")

    def set_colour(self, well: str, colour: str, tooltip: str | None = None) -> None:
        button = self.buttons.get(well)
        if button is None:
            return
        button.setProperty("hcs_colour", colour)
        button.setToolTip(f"{well}: {tooltip}" if tooltip else well)
        self._restyle(button)

    def colour(self, well: str) -> str | None:
        button = self.buttons.get(well)
        return None if button is None else button.property("hcs_colour")

    def legend(self) -> str:
        """Rich text naming each run-state colour (shown under the grid)."""
        return "  ".join(f'<span style="color:{colour}">&#9632;</span>&nbsp;{state}'
                         for state, colour in STATE_COLOURS.items())

    def reset_colours(self) -> None:
        for well in self.buttons:
            self.set_colour(well, PRESENT if well in self.present else ABSENT)

    def colour_by_state(self, states: Mapping[str, str],
                        errors: Mapping[str, str] | None = None) -> None:
        for well, state in states.items():
            self.set_state(well, state, (errors or {}).get(well))

    def set_state(self, well: str, state: str, error: str | None = None) -> None:
        """Colour one well by its run state ("" or unknown: back to present/absent)."""
        if state not in STATE_COLOURS:
            self.set_colour(well, PRESENT if well in self.present else ABSENT)
            return
        self.set_colour(well, STATE_COLOURS[state], f"{state}: {error}" if error else state)

    def colour_by_values(self, values: Mapping[str, float], colormap: str = "viridis") -> None:
        """Map one number per well onto a colormap (min..max of the values shown)."""
        from napari.utils.colormaps import ensure_colormap

        self.reset_colours()
        if not values:
            return
        lo, hi = min(values.values()), max(values.values())
        cmap = ensure_colormap(colormap)
        for well, value in values.items():
            t = 0.5 if hi == lo else (value - lo) / (hi - lo)
            r, g, b, _ = (int(255 * v) for v in cmap.map([t])[0])
            self.set_colour(well, f"#{r:02x}{g:02x}{b:02x}", f"{value:.4g}")
