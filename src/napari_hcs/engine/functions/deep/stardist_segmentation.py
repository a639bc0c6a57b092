"""StarDist (Schmidt, Weigert et al. 2018) as a registered function: star-convex nuclei.

StarDist's networks run on TensorFlow, which places them on a GPU by itself, so the function
takes and returns numpy arrays. Each plane is normalised with its own 1st-99.8th percentiles
(StarDist's recommended range, computed once per plane so that every tile sees the same
values), cut into tiles of `tile_size` px (`tiles.py`) and each tile segmented by
`StarDist2D.predict_instances`; objects cut by a seam are kept whole by the tile that owns
their centroid, the rule of StarDist's own `predict_instances_big`.

`model`: a model folder (`config.json` and `weights_best.h5` or `weights_last.h5`, what
`StarDist2D.export`/training writes) or the name of a pretrained model already in Keras's
cache (`$KERAS_HOME` or `~/.keras`, under `models/StarDist2D/<name>`, where
`StarDist2D.from_pretrained` put it); never downloaded. `prob_thresh`/`nms_thresh` 0 use the
thresholds stored with the model. `scale` resizes the image for the network (StarDist has no
notion of a diameter: use it when the plate's nuclei are larger or smaller than the model's).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...roots import UNCONFINED, AllowedRoots
from ..library._params import NonNegativeFloat, PositiveFloat, PositiveInt
from ..library.outlines import TracedOnRead
from ..registry import register
from ..rois import Outlines
from . import models, planes
from .models import ModelNotFound

FUNC = "segment_stardist"
EXTRA = "stardist"
DEFAULT_MODEL = "2D_versatile_fluo"
WEIGHTS = ("weights_best.h5", "weights_last.h5")
#: Overlap when none is given; StarDist has no diameter to derive it from.
DEFAULT_OVERLAP_PX = 128
_OUTPUTS = {"nuclei_labels": "labels", "nuclei_rois": "rois"}
_LOADED = models.LoadedModels()


def keras_folder() -> Path:
    """Keras's cache folder, where `StarDist2D.from_pretrained` keeps downloaded models."""
    env = os.environ.get("KERAS_HOME")
    return Path(env) if env else Path.home() / ".keras"


def _candidates(name: str) -> list[Path]:
    base = keras_folder() / "models" / "StarDist2D" / name
    # Keras < 3.6 unpacks next to the archive; 3.6+ into '<archive>_extracted'.
    return [base, base / name, base / f"{name}.zip_extracted"]


def model_folder(path: Path, what: str) -> Path:
    """`path` when it is a StarDist model folder: config.json and a weights file, both regular
    files of bounded size."""
    if not path.is_dir():
        raise ModelNotFound(f"{what}: {path} is not a StarDist model folder")
    models.regular_file(path / "config.json", models.MAX_CONFIG_BYTES, what)
    weights = [path / w for w in WEIGHTS if (path / w).exists()]
    if not weights:
        raise ModelNotFound(f"{what}: {path} holds no {' or '.join(WEIGHTS)}")
    models.regular_file(weights[0], models.MAX_MODEL_BYTES, what)
    thresholds = path / "thresholds.json"
    if thresholds.exists():
        models.regular_file(thresholds, models.MAX_CONFIG_BYTES, what)
    return path


def resolve_model(value: str) -> Path:
    """The model folder a `model` parameter names (see the module docstring)."""
    return models.lookup(
        value, f"{FUNC}: parameter 'model'", _candidates, model_folder,
        "run StarDist2D.from_pretrained once where it can download, or give the path of "
        "a model folder")


def compile_check(kwargs: dict[str, Any], pixel_size_um: float | None,
                  roots: AllowedRoots = UNCONFINED, channel_names: Sequence[str] = ()
                  ) -> list[tuple[str, str]]:
    """(parameter, message) for a missing package or model, or a length in µm on a plate
    without pixel size."""
    if not all(models.package_installed(m) for m in ("stardist", "tensorflow")):
        return []  # `requires` names the install line (compiler/devices.py)
    problems = [(parameter, f"{FUNC}: {message}") for parameter, message in models.check_model(
        kwargs.get("model", DEFAULT_MODEL), resolve_model, roots, folder=True)]
    if kwargs.get("tile_overlap_um") and not pixel_size_um:
        problems.append(("tile_overlap_um", f"{FUNC}: tile_overlap_um is in µm, but this plate "
                         "carries no pixel size; set it to 0 for the default overlap"))
    return problems


def load_model(folder: Path) -> Any:
    """`StarDist2D` loaded from `folder`, reused while the weights stay the same."""
    from stardist.models import StarDist2D

    weights = next(folder / w for w in WEIGHTS if (folder / w).exists())
    return _LOADED.get(weights, None, lambda: _read_only(
        StarDist2D(None, name=folder.name, basedir=str(folder.parent))))


def _read_only(model: Any) -> Any:
    model.basedir = None  # StarDist writes nothing into a folder it did not create
    return model


@register(memory="numpy", category="segmentation", special_inputs=("pixel_size_um",),
          special_outputs=_OUTPUTS, requires={"stardist": EXTRA, "tensorflow": EXTRA})
def segment_stardist(
    stack: np.ndarray, model: str = DEFAULT_MODEL, prob_thresh: NonNegativeFloat = 0.0,
    nms_thresh: NonNegativeFloat = 0.0, scale: PositiveFloat = 1.0,
    tile_size: PositiveInt = 2048, tile_overlap_um: NonNegativeFloat = 0.0,
    pixel_size_um: float | None = None,
) -> tuple[np.ndarray, np.ndarray, Outlines]:
    """Label star-convex nuclei with a StarDist model, tile by tile (the model from a folder).

    `model`: a model folder or a pretrained model's name in Keras's cache; `prob_thresh`,
    `nms_thresh`: 0 for the model's own; `scale`: image resize factor for the network;
    `tile_overlap_um`: overlap of inference tiles (0: 128 px). Returns (stack, labels, rois).
    """
    for module in ("stardist", "tensorflow"):
        models.require_package(module, FUNC, EXTRA)
    folder = resolve_model(model)
    images = np.asarray(stack)
    if images.ndim == 2:
        images = images[np.newaxis]
    if images.ndim != 3:
        raise ValueError(f"{FUNC}: expected an (N, Y, X) stack, got shape {images.shape}")
    net = load_model(folder)
    overlap = planes.overlap_pixels(tile_overlap_um, DEFAULT_OVERLAP_PX / planes.OVERLAP_DIAMETERS,
                                    tile_size, pixel_size_um, FUNC)

    def segmenter(plane: np.ndarray) -> planes.Segmenter:
        low, high = planes.plane_range(plane, 1.0, 99.8)

        def run(tile: np.ndarray) -> np.ndarray:
            x = (tile.astype(np.float32) - low) / (high - low)
            labels, _ = net.predict_instances(
                x, axes="YX", prob_thresh=prob_thresh or None, nms_thresh=nms_thresh or None,
                scale=None if scale == 1.0 else scale, show_tile_progress=False, verbose=False)
            return labels

        return run

    labels = planes.label_planes(images, segmenter, tile_size, overlap, FUNC)
    return stack, labels, TracedOnRead(labels)


segment_stardist.__hcs_compile_check__ = compile_check  # type: ignore[attr-defined]
