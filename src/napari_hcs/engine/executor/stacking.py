"""Grouping a well's images into stacks for one step, and splitting results back into keys.

Images are grouped by every component *not* in the step's `variable_components`; each group is
stacked in canonical key order into `(N, Y, X)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..plate.model import COMPONENTS, ImageKey

GroupId = tuple[tuple[str, Any], ...]  # the fixed components' values, e.g. (("channel","1"),...)


class StackError(ValueError):
    """A function returned a stack that cannot be mapped back onto image keys."""


def group_keys(
    keys: Iterable[ImageKey], variable_components: Sequence[str]
) -> dict[GroupId, list[ImageKey]]:
    """Keys grouped by the components that do not vary within a stack, in canonical order."""
    fixed = [c for c in COMPONENTS if c != "well" and c not in variable_components]
    groups: dict[GroupId, list[ImageKey]] = {}
    for key in sorted(keys, key=canonical_order):
        gid = tuple((c, key.get(c)) for c in fixed)
        groups.setdefault(gid, []).append(key)
    return groups


def canonical_order(key: ImageKey) -> tuple:
    """The order `PlateLayout.keys` uses: timepoint, channel, z, site."""
    return (key.well, key.timepoint, key.channel, key.z, key.site)


def stack_planes(planes: Sequence[Any]) -> Any:
    """Stack 2-D planes of one memory type into (N, Y, X) with that library's `stack`.

    Planes that are the consecutive planes of one numpy stack (what the previous step's stack
    was split into) are returned as that stack, without a copy: at a mosaic's size every copy
    is hundreds of megabytes. Functions never write into their input."""
    first = planes[0]
    if isinstance(first, np.ndarray):
        shapes = {p.shape for p in planes}
        if len(shapes) > 1:
            raise StackError(f"images of one stack differ in shape: {sorted(shapes)}")
        whole = _stacked(planes)
        return whole if whole is not None else np.stack(planes)
    module = type(first).__module__.split(".")[0]
    if module == "torch":
        import torch

        return torch.stack(list(planes))
    import cupy  # the only other memory type

    return cupy.stack(list(planes))


def _stacked(planes: Sequence[np.ndarray]) -> np.ndarray | None:
    """A view (N, Y, X) whose planes are exactly `planes`, when they lie evenly spaced in one
    buffer (the planes of one stack, in order); None otherwise."""
    first = planes[0]
    if len(planes) == 1:
        return first[np.newaxis]
    base = first.base
    if base is None:
        return None
    start = first.__array_interface__["data"][0]
    step = planes[1].__array_interface__["data"][0] - start
    if step == 0:
        return None
    for i, plane in enumerate(planes):
        if (plane.base is not base or plane.strides != first.strides
                or plane.__array_interface__["data"][0] != start + i * step):
            return None
    return np.lib.stride_tricks.as_strided(first, shape=(len(planes), *first.shape),
                                           strides=(step, *first.strides))


def collapsed_key(key: ImageKey, variable_components: Sequence[str]) -> ImageKey:
    """The key of a call's single output: its variable components collapse to 1."""
    return key.replace(**{c: 1 for c in variable_components if c != "well"})


def split_stack(
    out: Any, keys: Sequence[ImageKey], variable_components: Sequence[str], *, where: str
) -> dict[ImageKey, Any]:
    """Map an output stack back onto keys.

    Same N as the input: keys are kept. N == 1: the variable components collapse to 1 (a
    stitched mosaic is site 1, a max projection z 1). Anything else is an error naming `where`.
    """
    if out.ndim == 2:
        out = out[None]
    if out.ndim != 3:
        raise StackError(f"{where}: returned an array of shape {tuple(out.shape)}; "
                         "functions must return a (N, Y, X) stack")
    n = out.shape[0]
    if n == len(keys):
        return {key: out[i] for i, key in enumerate(keys)}
    if n == 1:
        return {collapsed_key(keys[0], variable_components): out[0]}
    raise StackError(
        f"{where}: got a stack of {len(keys)} images ({_describe(keys, variable_components)}) "
        f"and returned {n}; return the same number of images, or 1"
    )


def _describe(keys: Sequence[ImageKey], variable_components: Sequence[str]) -> str:
    return ", ".join(f"{c}={sorted({k.get(c) for k in keys})}" for c in variable_components)


def group_label(gid: GroupId, stitched: bool = False) -> str:
    """`site 2, channel 1, z 1` for error messages; on a `stitched` well, `stitched well,
    channel 1, z 1`: its one image is the whole well (kept as site 1), not a site."""
    parts = [f"{c} {v}" for c, v in gid if not (stitched and c == "site")]
    return ", ".join(["stitched well", *parts] if stitched else parts) or "all images"


def sites_combined(keys: Iterable[ImageKey], input_keys: Iterable[ImageKey]) -> bool:
    """Whether an earlier step made one image of a well's several sites (a stitched mosaic,
    whose key keeps site 1 only because a key needs one)."""
    return len({k.site for k in keys}) == 1 < len({k.site for k in input_keys})
