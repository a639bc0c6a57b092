"""Which colour shows each channel: the one rule napari layers, the wire (Fiji) and viewers of
the output share, so a plate's DAPI is blue everywhere.

By stain or filter name when the name says it (DAPI blue, GFP green, ...), else by the
channel's position. `channel_colormap` gives napari colormap names, `channel_rgb` the same
colour as "#RRGGBB".
"""

from __future__ import annotations

# Colour by well-known stain/filter names first, then by channel order.
_NAMED: tuple[tuple[tuple[str, ...], str], ...] = (
    (("dapi", "hoechst", "nuclei", "nucleus", "405"), "blue"),
    (("gfp", "fitc", "488", "alexa 488"), "green"),
    (("cy3", "tritc", "rfp", "555", "568", "mcherry"), "red"),
    (("cy5", "647", "far red"), "magenta"),
)
_CYCLE: tuple[str, ...] = ("blue", "green", "red", "magenta", "cyan", "yellow")
RGB: dict[str, str] = {"blue": "#0000FF", "green": "#00FF00", "red": "#FF0000",
                       "magenta": "#FF00FF", "cyan": "#00FFFF", "yellow": "#FFFF00"}


def channel_colormap(name: str, index: int) -> str:
    """The colormap for a channel: from its stain name when recognisable, else by position."""
    lowered = name.lower()
    for hints, colormap in _NAMED:
        if any(h in lowered for h in hints):
            return colormap
    return _CYCLE[index % len(_CYCLE)]


def channel_rgb(name: str, index: int) -> str:
    """`channel_colormap`'s colour as "#RRGGBB"."""
    return RGB[channel_colormap(name, index)]
