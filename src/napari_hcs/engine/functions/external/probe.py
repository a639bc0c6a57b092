"""Trying a candidate function once on tiny images, to tell whether it fits the pipeline.

The pipeline's contract for a stack function: a stack of planes in, a stack of planes of the
same shape out, with a real (or boolean) dtype. A library function is admitted when, called on
a 24 x 28 plane with its defaults (plus an example value for each required parameter), it
returns such a plane; anything else (a scalar, a threshold, a tuple, a coordinate list, another
shape, an error) leaves it out, with the reason recorded for docs/functions.md. Calling it
again on a 3 x 24 x 28 volume tells whether it also works on the whole stack (`nd`) or only
plane by plane (`2d`). Each candidate is tried on an intensity image first, then on a label
image and on a binary mask (functions such as `remove_small_objects` need integers).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .doctypes import describe

PLANE = (24, 28)
VOLUME = (3, 24, 28)
INPUT_KINDS = ("image", "labels", "binary")
#: A small kernel (footprint, weights, psf): the one kind of array a parameter form can hold.
KERNEL = [[1, 1, 1], [1, 1, 1], [1, 1, 1]]


def sample(kind: str, shape: Sequence[int]) -> np.ndarray:
    """A deterministic test input: smooth blobs in (0, 1), their labels, or their mask."""
    grids = np.meshgrid(*[np.arange(n, dtype=np.float32) for n in shape[-2:]], indexing="ij")
    y, x = grids
    image = np.zeros(shape[-2:], np.float32)
    for cy, cx, r in ((6.0, 7.0, 3.5), (16.0, 19.0, 4.5), (18.0, 6.0, 2.5)):
        image += np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * r * r))
    # strictly inside (0, 1): a function that only works on 0/1 masks must not pass as an image
    image = np.clip(0.85 * image + 0.05 * np.sin(x * 1.3) * np.cos(y * 0.7) + 0.07, 0.02, 0.9)
    image = np.broadcast_to(image, tuple(shape)).copy()
    if len(shape) == 3:  # planes differ a little, as the planes of a real stack do
        image *= np.linspace(0.8, 1.0, shape[0], dtype=np.float32)[:, None, None]
    if kind == "image":
        return image.astype(np.float32)
    mask = image > 0.45
    if kind == "binary":
        return mask
    from scipy import ndimage

    labels, _ = ndimage.label(mask)
    return labels.astype(np.int32)


@dataclass(frozen=True)
class ProbeParameter:
    """What the probe needs to know of one visible parameter."""

    name: str
    alternatives: list[Any]
    required: bool
    default: Any = None
    kernel: bool = False  # an array parameter that a small nested list can give


@dataclass
class ProbeResult:
    reason: str = ""  # empty when the function fits
    input_kind: str = "image"
    dims: str = "2d"
    output_dtype: str = ""
    example: dict[str, Any] = field(default_factory=dict)
    example_reason: str = ""

    @property
    def ok(self) -> bool:
        return not self.reason


def example_value(param: ProbeParameter, alternate: bool = False) -> Any:
    """A value a user could give for a parameter (scalars first), or None when there is none."""
    alts = param.alternatives
    if param.kernel and "array" in alts:
        return KERNEL
    for kind, first, second in (("int", 3, 5), ("float", 1.0, 2.0), ("bool", False, True)):
        if kind in alts:
            return second if alternate else first
    for alt in alts:
        if isinstance(alt, dict) and "choice" in alt:
            values = [v for v in alt["choice"] if v is not None]
            if values:
                return values[-1] if alternate else values[0]
        if isinstance(alt, dict) and alt.get("seq") in ("int", "float"):
            value = 3 if alt["seq"] == "int" else 1.0
            return [value * 2 if alternate else value] * 2
    return None


def for_volume(value: Any) -> Any:
    """An example written for a plane, adapted to a 3-D volume (kernels and per-axis pairs)."""
    if isinstance(value, list) and value and isinstance(value[0], list):
        return [value]  # (3, 3) kernel -> (1, 3, 3)
    if isinstance(value, list) and len(value) == 2:
        return [value[0], *value]
    return value


CallPlane = Callable[[np.ndarray, dict[str, Any]], Any]


def _attempt(call: CallPlane, image: np.ndarray, kwargs: dict[str, Any]) -> tuple[Any, str]:
    """`(output, "")` or `(None, "TypeError: ...")`; prints and warnings are swallowed."""
    sink = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink), \
                contextlib.redirect_stderr(sink), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return call(image.copy(), dict(kwargs)), ""
    except Exception as exc:  # any failure of a third-party function is a reason, not a crash
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return None, f"{type(exc).__name__}: {message[:120]}".rstrip(": ")


def output_problem(out: Any, shape: tuple[int, ...]) -> str:
    """Why `out` does not fit the contract for an input of `shape` ('' when it fits)."""
    if isinstance(out, tuple):
        return f"returns a tuple of {len(out)}, not an image"
    if isinstance(out, (int, float, bool, np.generic)) or (
            isinstance(out, np.ndarray) and out.ndim == 0):
        return "returns a single value, not an image"
    if not isinstance(out, np.ndarray):
        return f"returns a {type(out).__name__}, not an image"
    if out.shape != shape:
        return f"returns shape {out.shape} for a {shape} input"
    if out.dtype.kind not in "biuf":
        return f"returns {out.dtype} values"
    return ""


def probe(call: CallPlane, params: Sequence[ProbeParameter],
          kinds: Sequence[str] = INPUT_KINDS, volume: bool = True) -> ProbeResult:
    """Whether `call(plane, kwargs)` fits the pipeline, and how it was made to run (and, with
    `volume`, whether it runs on a whole 3-D stack too)."""
    example: dict[str, Any] = {}
    for p in params:
        if p.required:
            value = example_value(p)
            if value is None:
                return ProbeResult(reason=f"needs `{p.name}` ({describe(p.alternatives)}), "
                                          "which a parameter value cannot give")
            example[p.name] = value
    # Defaults of None that the function refuses (ndimage's size/footprint): fill one of them.
    fillable = [p for p in params if not p.required and p.default is None
                and example_value(p) is not None]
    first_error = ""
    for kind in kinds:
        plane = sample(kind, PLANE)
        for extra in [None, *fillable]:
            kwargs = dict(example)
            if extra is not None:
                kwargs[extra.name] = example_value(extra)
            out, error = _attempt(call, plane, kwargs)
            problem = error or output_problem(out, plane.shape)
            if not problem:
                return _admitted(call, params, kind, out, kwargs, example, extra, volume)
            first_error = first_error or (
                f"fails on a small {kind} plane: {error}" if error else problem)
            if not error:
                break  # it runs but returns the wrong thing: other fills will not change that
    return ProbeResult(reason=first_error)


def _admitted(call: CallPlane, params: Sequence[ProbeParameter], kind: str, out: np.ndarray,
              kwargs: dict[str, Any], example: dict[str, Any],
              extra: ProbeParameter | None, try_volume: bool) -> ProbeResult:
    plane = sample(kind, PLANE)
    reasons = []
    if example:
        reasons.append("required " + ", ".join(f"`{n}`" for n in example))
    if extra is not None:
        reasons.append(f"`{extra.name}=None` (the default) raises")
    numeric = [p for p in params if (p.required or p is extra)
               and ("int" in p.alternatives or "float" in p.alternatives)]
    changed = {p.name: example_value(p, alternate=True) for p in numeric}
    if changed:
        other, error = _attempt(call, plane, {**kwargs, **changed})
        if not error and isinstance(other, np.ndarray) and other.shape != plane.shape:
            names = ", ".join(f"`{n}`" for n in changed)
            return ProbeResult(reason=f"the output shape depends on {names}")
    dims = "2d"
    if try_volume:
        volume = sample(kind, VOLUME)
        vol_out, error = _attempt(call, volume, {k: for_volume(v) for k, v in kwargs.items()})
        dims = "nd" if not error and not output_problem(vol_out, volume.shape) else "2d"
    return ProbeResult(input_kind=kind, dims=dims, output_dtype=str(out.dtype), example=kwargs,
                       example_reason="; ".join(reasons))
