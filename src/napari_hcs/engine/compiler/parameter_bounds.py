"""Size-like parameters bounded by the image a step sees, checked at compile.

One number can ask a library for any amount of memory or time: `ndimage.gaussian_filter
radius=4e8` builds a 3 GB kernel, `equalize_adapthist nbins=1e9` an 8 GB histogram per tile,
`filters.laplace ksize=1e5` a 1e10-element kernel, `denoise_tv_chambolle max_num_iter=2**62`
never ends. The compiler knows the tile size (and the mosaic a stitching pipeline makes, from
the sites' positions), so such parameters are checked against it, by name (the libraries name
them consistently) with a short table of exceptions, for every registered function alike:

- half-widths (`radius*`, and `sigma*` times `truncate`, default 4): at most `HALF_WIDTH` x the
  image's longest side (beyond the image's own size, a kernel only repeats the border);
- windows (`size`, `ksize`, `win_size`, `window_size`, `kernel_size`, `block_size`,
  `patch_size`, `patch_distance`): at most `WINDOW` x the longest side, plus one;
- histogram bins (`nbins`, `bins`): at most `MAX_BINS` (one per 16-bit value);
- iteration counts (`*iter*`, `number_of_*`): at most `MAX_ITERATIONS`;
- derivative, spline and filter orders (`order`, `order_x`..): at most `MAX_ORDER` (a Gaussian
  derivative of order n builds polynomials of n terms);
- counts of regions (`n_segments`): at most the image's pixels (SLIC allocates one centre each);
- an array parameter (a footprint, a kernel): at most a window's side squared elements.

Every number of a list value is checked, and NaN or infinity is refused. The messages name
the function, the parameter, the limit and the image size it came from.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterator
from typing import Any

HALF_WIDTH = 2
WINDOW = 4
MAX_BINS = 65_536
MAX_ITERATIONS = 10_000
MAX_ORDER = 16

_WINDOWS = frozenset({"size", "ksize", "win_size", "window_size", "kernel_size", "block_size",
                      "patch_size", "patch_distance"})
_BINS = frozenset({"nbins", "bins"})
_ORDERS = re.compile(r"^order(_[xyz])?$")
_ITERATIONS = re.compile(r"(^|_)(iter|iterations|num_iter|max_iter|max_num_iter|n_iter)$"
                         r"|^number_of_")
#: `sigma` that is a noise level in intensity units, not a length (table of exceptions).
_INTENSITY_SIGMA = ("skimage.restoration.", "cucim.skimage.restoration.")
_NOT_LENGTHS = frozenset({"sigma_color"})


def image_side(shape: tuple[int, int] | None,
               positions: dict[int, tuple[float, float]] | None = None) -> int | None:
    """The longest side of the largest image a step may see: the tile, or the mosaic its
    sites' positions span (a step after stitching works on the mosaic)."""
    if not shape:
        return None
    extent_y, extent_x = shape
    for y, x in (positions or {}).values():
        if math.isfinite(y) and math.isfinite(x):
            extent_y, extent_x = max(extent_y, y + shape[0]), max(extent_x, x + shape[1])
    return int(math.ceil(max(extent_y, extent_x)))


def _leaves(value: Any) -> Iterator[Any]:
    """A number, or each item of a flat list of them (a nested list is an item, refused)."""
    if isinstance(value, (list, tuple)):
        yield from value
    elif value is not None:
        yield value


def _count(value: Any, limit: int) -> int:
    """Leaves of a nested list, counting no further than `limit + 1`."""
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        else:
            total += 1
    return total


def check_bounds(function: str, kwargs: dict[str, Any], side: int | None
                 ) -> list[tuple[str, str]]:
    """`(parameter, message)` for every size-like parameter of `function` out of bounds for
    an image whose longest side is `side` pixels (None: only the fixed caps)."""
    found = []
    truncate = kwargs.get("truncate", 4.0)
    if isinstance(truncate, bool) or not isinstance(truncate, numbers.Real) or \
            not truncate > 0:
        truncate = 4.0
    for name, value in kwargs.items():
        if name == "truncate" and any("sigma" in key for key in kwargs):
            continue  # checked as sigma x truncate
        limit, what, factor = _rule(function, name, side, float(truncate))
        if limit is None:
            continue
        if what == "elements":
            if isinstance(value, (list, tuple)) and _count(value, limit) > limit:
                found.append((name, f"{function}: {name!r} has more than {limit} elements, "
                                    f"more than a window over this plate's images ({side} px) "
                                    "holds"))
            continue
        for number in _leaves(value):
            if isinstance(number, bool) or not isinstance(number, numbers.Real):
                found.append((name, f"{function}: {name!r} holds {number!r}; a size expects "
                                    "numbers"))
                break
            if not math.isfinite(number):
                found.append((name, f"{function}: {name!r} is {number!r}; expected a finite "
                                    "number"))
                break
            if abs(number) * factor > limit:
                shown = f"{number!r}" + (f" (x truncate {truncate:g})" if factor != 1 else "")
                found.append((name, f"{function}: {name!r} is {shown}, more than the {limit} "
                                    f"{what}; use a smaller value"))
                break
    return found


def _rule(function: str, name: str, side: int | None, truncate: float
          ) -> tuple[int | None, str, float]:
    """(limit, what the limit is, factor applied to the value) of one parameter."""
    if name in _BINS:
        return MAX_BINS, "bins a histogram may have", 1.0
    if _ITERATIONS.search(name):
        return MAX_ITERATIONS, "iterations a step may run", 1.0
    if _ORDERS.match(name):
        return MAX_ORDER, "allowed for a derivative, spline or filter order", 1.0
    if side is None:
        return None, "", 1.0
    if name == "n_segments":
        return side * side, f"pixels of an image of {side} x {side} px", 1.0
    of_image = f"pixels allowed for images of {side} px"
    if name in _WINDOWS:
        return WINDOW * side + 1, f"{of_image} (a window of {WINDOW} x the image)", 1.0
    if name in ("footprint", "selem", "kernel", "structure", "weights"):
        return (WINDOW * side + 1) ** 2, "elements", 1.0
    if name == "truncate":  # with the function's default sigma (when none is given)
        return HALF_WIDTH * side, f"{of_image} (a kernel half-width of {HALF_WIDTH} x the " \
            "image, with sigma 1)", 1.0
    if "radius" in name:
        return HALF_WIDTH * side, f"{of_image} (a radius of {HALF_WIDTH} x the image)", 1.0
    if "sigma" in name and name not in _NOT_LENGTHS and not (
            name == "sigma" and function.startswith(_INTENSITY_SIGMA)):
        return (HALF_WIDTH * side,
                f"{of_image} (a kernel half-width of {HALF_WIDTH} x the image)", truncate)
    return None, "", 1.0
