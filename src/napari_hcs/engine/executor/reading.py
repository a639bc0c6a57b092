"""Reading one well's input images, with errors that name the file and the image key."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from ..compiler.plan import WellPlan
from ..plate.model import ImageKey
from ..roots import AllowedRoots

TIFF_SUFFIXES = (".tif", ".tiff")


class InputError(Exception):
    """An input image that is missing, unreadable, or of the wrong shape."""


def describe(key: ImageKey) -> str:
    return f"well {key.well}, site {key.site}, channel {key.channel}, z {key.z}, t {key.timepoint}"


def read_inputs(plan: WellPlan) -> dict[ImageKey, np.ndarray]:
    """Every input image of the well as a 2-D array of the plate's pixel type (and size, for
    formats with one image size); all must share one shape."""
    reader: Any = None
    roots = AllowedRoots(plan.roots)
    images: dict[ImageKey, np.ndarray] = {}
    for key, path in plan.inputs:
        if Path(path).suffix.lower() in TIFF_SUFFIXES:
            image = _read_tiff(plan, key, str(roots.check(path)))
        else:  # zarr plates (and any non-file source) go through the plate reader
            if reader is None:
                from ..plate import open_plate

                reader = open_plate(plan.plate_root, roots=roots)
            try:
                image = np.asarray(reader.read(key))
            except Exception as exc:
                raise InputError(f"cannot read {path} ({describe(key)}): {exc}") from exc
        images[key] = _as_plane(image, key, path)
        _check_against_plate(plan, key, path, images[key].shape, images[key].dtype.name)
    _check_shapes(images, dict(plan.inputs))
    return images


def _check_against_plate(plan: WellPlan, key: ImageKey, path: str, shape: tuple[int, ...],
                         dtype: str) -> None:
    """A tile of another size or pixel type than the plate's is wrong data (a float32 export
    dropped into a uint16 plate, a binned re-acquisition): it fails the well, naming the file."""
    plate_shape = plan.image_shape
    if plate_shape is not None and len(shape) == 2 and tuple(shape) != tuple(plate_shape):
        raise InputError(f"{path} ({describe(key)}) is {_size(shape)} pixels, but the plate's "
                         f"images are {_size(plate_shape)}")
    if plan.image_dtype is not None and dtype != plan.image_dtype:
        raise InputError(f"{path} ({describe(key)}) holds {dtype} pixels, but the plate's "
                         f"images are {plan.image_dtype}")


def _size(shape: tuple[int, ...]) -> str:
    return " x ".join(map(str, shape))


def _read_tiff(plan: WellPlan, key: ImageKey, path: str) -> np.ndarray:
    from ..plate.tiff import read_tiff_complete

    def header(shape: tuple[int, ...], dtype: str) -> None:  # before decoding any pixel
        _check_against_plate(plan, key, path, shape, dtype)

    if not Path(path).exists():  # a FIFO or device is refused by the reader, by name
        raise InputError(f"missing image {path} ({describe(key)})")
    try:  # a truncated copy can decode silently as zeros: its extent is checked first
        return read_tiff_complete(path, check=header)
    except InputError:
        raise
    except Exception as exc:  # truncated or corrupt files raise many different types
        raise InputError(f"cannot read {path} ({describe(key)}): "
                         f"{type(exc).__name__}: {exc}") from exc


def _as_plane(image: np.ndarray, key: ImageKey, path: str) -> np.ndarray:
    while image.ndim > 2 and image.shape[0] == 1:
        image = image[0]
    if image.ndim != 2:
        raise InputError(f"{path} ({describe(key)}) holds an array of shape {image.shape}; "
                         "expected one 2-D image")
    return image


def _check_shapes(images: dict[ImageKey, np.ndarray], paths: dict[ImageKey, str]) -> None:
    # The most common shape is the well's; the odd ones out are named.
    counts = Counter(im.shape for im in images.values())
    if len(counts) <= 1:
        return
    expected = counts.most_common(1)[0][0]
    odd = [f"{paths[k]} is {im.shape}" for k, im in images.items() if im.shape != expected]
    raise InputError(f"images of one well must share a shape ({expected}); " + "; ".join(odd))
