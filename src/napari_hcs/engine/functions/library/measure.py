"""Per-nucleus measurements: size, position, shape and mean intensity in every channel.

Moments (area, centroid, eccentricity) and mean intensities are per-label sums, computed
with `bincount` over the labelled pixels only (nuclei cover a few per cent of a mosaic) in the
stack's framework (numpy, or torch on its device); the sums run in pixel order, as over the
whole image, so the values are the same. Perimeter and solidity (both versions, on the CPU)
are `regionprops`' values computed without a region object per nucleus (`_shape`): perimeters
of all labels in one pass over the labelled pixels, convex areas from each label's box.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..registry import register
from . import _torch
from ._arrays import as_stack
from ._lazy import pd
from ._shared import moment_features
from ._torch import Tensor

Table = Any  # pandas.DataFrame, spelled so that signatures evaluate without pandas

COLUMNS = ("label", "area", "centroid_y", "centroid_x", "eccentricity", "solidity", "perimeter")
#: The length-like columns and their units (the run converts them to micrometres).
UNITS = {"area": "pixel**2", "centroid_y": "pixel", "centroid_x": "pixel", "perimeter": "pixel"}


def _plane(labels: Any, func: str) -> Any:
    """The single label plane of (Y, X) or (1, Y, X) labels."""
    if labels is None:
        raise ValueError(f"{func}: no 'nuclei_labels' (a segmentation step must produce them)")
    if labels.ndim == 3 and labels.shape[0] == 1:
        return labels[0]
    if labels.ndim != 2:
        raise ValueError(f"{func}: 'nuclei_labels' must be one (Y, X) plane, got shape "
                         f"{tuple(labels.shape)}; segment a single (stitched or projected) plane")
    return labels


def _names(channel_names: Sequence[str] | None, n: int, func: str) -> list[str]:
    if channel_names is None:
        return [str(c) for c in range(1, n + 1)]
    names = [str(c) for c in channel_names]
    if len(names) != n:
        raise ValueError(f"{func}: {len(names)} 'channel_names' for a stack of {n} channels; "
                         "the step must stack channels (variable_components=('channel',))")
    return names


def shape_features(labels: np.ndarray, ids: np.ndarray,
                   where: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Solidity and perimeter (4-neighbourhood) of each label in `ids`, equal to
    `regionprops`' (see `_shape`); `where`: the flat indices of the labelled pixels."""
    from . import _shape

    if not len(ids):
        return np.zeros(0), np.zeros(0)
    if where is None:
        where = np.flatnonzero(labels)
    count = int(labels.max())
    area = np.bincount(labels.reshape(-1)[where], minlength=count + 1)
    solidity = area[ids] * 1.0 / (_shape.convex_areas(labels, where, count)[ids] * 1.0)
    return solidity, _shape.perimeters(labels, where, count)[ids]


def _table(ids: np.ndarray, sums: dict[str, np.ndarray], means: dict[str, np.ndarray],
           labels: np.ndarray, where: np.ndarray | None = None) -> Table:
    """Assemble the table from per-label sums (indexed by label id) for the present ids."""
    feats = moment_features(*(sums[k][ids] for k in ("n", "sy", "sx", "syy", "sxx", "sxy")))
    solidity, perimeter = shape_features(labels, ids, where)
    table = pd.DataFrame({"label": ids.astype(np.int64), "area": feats["area"],
                          "centroid_y": feats["centroid_y"], "centroid_x": feats["centroid_x"]})
    for name, values in means.items():
        table[f"mean_{name}"] = values[ids]
    table["eccentricity"] = feats["eccentricity"]
    table["solidity"] = solidity
    table["perimeter"] = perimeter
    table.attrs["units"] = dict(UNITS)
    return table


@register(memory="numpy", category="measurement",
          special_inputs=("nuclei_labels", "channel_names"), special_outputs={"nuclei": "table"})
def measure_nuclei(
    stack: np.ndarray, nuclei_labels: np.ndarray, channel_names: Sequence[str] | None = None
) -> tuple[np.ndarray, Table]:
    """One row per nucleus: label, area, centroid, mean_<channel> for each channel, shape.

    The stack holds the channels (C, Y, X) of the segmented plane. Returns (stack, table).
    """
    a = as_stack(stack, "measure_nuclei")
    lab = np.asarray(_plane(nuclei_labels, "measure_nuclei"))
    if lab.shape != a.shape[1:]:
        raise ValueError(f"measure_nuclei: labels {lab.shape} and stack {a.shape[1:]} differ")
    names = _names(channel_names, a.shape[0], "measure_nuclei")
    # The labelled pixels only, in pixel order (bincount then adds them up in the same order
    # as over the whole image).
    where = np.flatnonzero(lab)
    flat = lab.reshape(-1)[where].astype(np.intp)
    size = int(flat.max()) + 1 if flat.size else 1
    yy, xx = np.divmod(where, lab.shape[1])
    yy, xx = yy.astype(np.float64), xx.astype(np.float64)

    def total(w: np.ndarray | None) -> np.ndarray:
        return np.bincount(flat, weights=w, minlength=size).astype(np.float64)

    sums = {"n": total(None), "sy": total(yy), "sx": total(xx), "syy": total(yy * yy),
            "sxx": total(xx * xx), "sxy": total(yy * xx)}
    with np.errstate(divide="ignore", invalid="ignore"):
        means = {n: total(c.reshape(-1)[where].astype(np.float64)) / sums["n"]
                 for n, c in zip(names, a, strict=True)}
    ids = np.nonzero(sums["n"][1:])[0] + 1
    return stack, _table(ids, sums, means, lab, where)


@register(memory="torch", category="measurement",
          special_inputs=("nuclei_labels", "channel_names"), special_outputs={"nuclei": "table"})
def measure_nuclei_torch(
    stack: Tensor, nuclei_labels: Tensor, channel_names: Sequence[str] | None = None
) -> tuple[Tensor, Table]:
    """One row per nucleus: label, area, centroid, mean_<channel> for each channel, shape."""
    torch = _torch.require()
    x = stack if stack.ndim == 3 else stack.unsqueeze(0)
    lab = torch.as_tensor(_plane(nuclei_labels, "measure_nuclei_torch"), device=x.device)
    if tuple(lab.shape) != tuple(x.shape[1:]):
        raise ValueError(f"measure_nuclei_torch: labels {tuple(lab.shape)} and stack "
                         f"{tuple(x.shape[1:])} differ")
    names = _names(channel_names, x.shape[0], "measure_nuclei_torch")
    flat = lab.reshape(-1).long()
    size = int(flat.max()) + 1 if flat.numel() else 1
    yy, xx = torch.meshgrid(torch.arange(lab.shape[0], device=x.device, dtype=torch.float64),
                            torch.arange(lab.shape[1], device=x.device, dtype=torch.float64),
                            indexing="ij")
    yy, xx = yy.reshape(-1), xx.reshape(-1)

    def total(w: Tensor | None) -> np.ndarray:
        return torch.bincount(flat, weights=w, minlength=size).double().cpu().numpy()

    sums = {"n": total(None), "sy": total(yy), "sx": total(xx), "syy": total(yy * yy),
            "sxx": total(xx * xx), "sxy": total(yy * xx)}
    with np.errstate(divide="ignore", invalid="ignore"):
        means = {n: total(c.reshape(-1).double()) / sums["n"] for n, c in zip(names, x,
                                                                              strict=True)}
    ids = np.nonzero(sums["n"][1:])[0] + 1
    return stack, _table(ids, sums, means, lab.cpu().numpy().astype(np.int64))


def _nuclei_columns(kwargs: dict, channel_names: Sequence[str]) -> dict[str, list[str]]:
    """The `nuclei` table's columns on a plate with these channels (the compiler checks a
    classifier's features against them, `compiler.table_columns`)."""
    del kwargs  # no parameter changes the columns
    means = [f"mean_{name}" for name in channel_names]
    return {"nuclei": [*COLUMNS[:4], *means, *COLUMNS[4:]]}


measure_nuclei.table_columns = _nuclei_columns  # type: ignore[attr-defined]
measure_nuclei_torch.table_columns = _nuclei_columns  # type: ignore[attr-defined]
