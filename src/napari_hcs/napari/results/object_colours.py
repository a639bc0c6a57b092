"""Objects coloured by a feature or a class: label value -> colour, plus the key to read it.

Computed off the GUI thread (a dict of 100,000 colours takes a while); the GUI thread only
hands the dict to napari as a `DirectLabelColormap`. A number colours on a continuous colormap
between two limits (the 2nd and 98th percentiles, so a few outliers do not flatten the rest),
a text or class column by category (a fixed palette, the same class always the same colour).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .features import is_categorical

#: Category colours (matplotlib's tab10, then tab20's light ones): distinct on dark canvases.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#bcbd22", "#17becf", "#7f7f7f", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
           "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5", "#c7c7c7")
#: Objects with no value (NaN, not classified) stay visible, in grey.
MISSING = (0.5, 0.5, 0.5, 0.35)
#: Continuous colourings use this colormap.
COLORMAP = "viridis"


@dataclass
class ColourKey:
    """What the colour bar or legend shows."""

    title: str
    categories: list[tuple[str, tuple[float, ...]]] = field(default_factory=list)
    limits: tuple[float, float] | None = None
    colormap: str = COLORMAP

    @property
    def categorical(self) -> bool:
        return self.limits is None


@dataclass
class ObjectColours:
    """`colours[label value] = RGBA` for every object, and its key."""

    colours: dict[int | None, tuple[float, ...]]
    key: ColourKey


def hex_rgba(colour: str, alpha: float = 1.0) -> tuple[float, ...]:
    value = colour.lstrip("#")
    return (*(int(value[i:i + 2], 16) / 255 for i in (0, 2, 4)), alpha)


def category_colours(categories: list[str]) -> dict[str, tuple[float, ...]]:
    return {c: hex_rgba(PALETTE[i % len(PALETTE)]) for i, c in enumerate(categories)}


def robust_limits(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if not finite.size:
        return 0.0, 1.0
    lo, hi = (float(v) for v in np.percentile(finite, (2, 98)))
    return (lo, hi) if hi > lo else (float(finite.min()), float(finite.min()) + 1.0)


def colour_objects(ids: np.ndarray, values: pd.Series, title: str,
                   categories: list[str] | None = None) -> ObjectColours:
    """Colours of the objects `ids` (label values) by `values` (one per object)."""
    ids = np.asarray(ids, dtype=np.int64)
    transparent = (0.0, 0.0, 0.0, 0.0)
    colours: dict[int | None, tuple[float, ...]] = {None: MISSING, 0: transparent}
    if categories is not None or is_categorical(values):
        text = values.astype("string")
        names = categories or sorted(str(v) for v in text.dropna().unique())
        palette = category_colours(names)
        for label, value in zip(ids.tolist(), text.tolist(), strict=True):
            colours[label] = palette.get(str(value), MISSING) if value is not pd.NA else MISSING
        return ObjectColours(colours, ColourKey(title, list(palette.items())))
    from napari.utils.colormaps import ensure_colormap

    numbers = pd.to_numeric(values, errors="coerce").to_numpy(np.float64)
    lo, hi = robust_limits(numbers)
    # 256 levels: few distinct colours keep napari's label texture 8/16-bit however many
    # objects there are (and its colour lookup small).
    levels = np.round(np.clip((numbers - lo) / (hi - lo), 0, 1) * 255) / 255
    rgba = ensure_colormap(COLORMAP).map(np.nan_to_num(levels))
    rgba[~np.isfinite(numbers)] = MISSING
    colours.update(zip(ids.tolist(), map(tuple, rgba.tolist()), strict=True))
    return ObjectColours(colours, ColourKey(title, limits=(lo, hi)))


def labels_colormap(colours: ObjectColours, dtype: np.dtype) -> object:
    """napari's `DirectLabelColormap` of `colours`, with its lookup for `dtype` labels built
    now (call off the GUI thread): napari builds that lookup, and compiles its kernel, the
    first time it draws the layer, which for 100,000 objects held the GUI thread for 6 s."""
    from napari.utils.colormaps import DirectLabelColormap

    colormap = DirectLabelColormap(color_dict=colours.colours)
    try:  # napari's internals; without them napari builds the lookup itself when drawing
        from napari.utils.colormaps.colormap import _cast_labels_data_to_texture_dtype_direct

        _cast_labels_data_to_texture_dtype_direct(np.zeros((2, 2), dtype), colormap)
    except (ImportError, AttributeError, TypeError):
        pass
    return colormap
