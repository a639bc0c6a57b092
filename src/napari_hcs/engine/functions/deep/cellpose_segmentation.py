"""Cellpose (Stringer, Pachitariu et al.; Cellpose-SAM in 4.x) as a registered function.

The model runs on torch: the function takes torch tensors, so the compiler places it on the
step's device (CUDA when the step says so, the CPU otherwise) and the model goes where the
tensor is (the planes are copied to the host and Cellpose moves each tile to the model's
device). Each plane is cut into tiles of `tile_size` px (`tiles.py`), every tile normalised
with the whole plane's 1st-99th percentiles (Cellpose's own default range, but one range for
all tiles, so that an object in two tiles looks the same to both), and segmented by
`CellposeModel.eval` (network, then Cellpose's flow dynamics). Objects cut by a tile seam are
kept whole by the tile that owns their centroid.

`model`: a model name looked up in Cellpose's model folder (`$CELLPOSE_LOCAL_MODELS_PATH`,
else `~/.cellpose/models`, where Cellpose keeps what it downloaded) or a path to a model file;
never downloaded (`models.py`). `diameter_um`: the typical object diameter; Cellpose rescales
the image so that it is the model's 30 px (0: no rescaling, Cellpose-SAM's own choice).
Outputs the same special outputs as `segment_nuclei`, so measurement and cell steps follow it
unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...roots import UNCONFINED, AllowedRoots
from ..library._params import NonNegativeFloat, NonNegativeInt, PositiveInt
from ..library._torch import Tensor
from ..library.outlines import TracedOnRead
from ..registry import register
from ..rois import Outlines
from . import models, planes

FUNC = "segment_cellpose"
EXTRA = "cellpose"
#: The diameter Cellpose's models are trained at: `diameter` rescales images to it.
MODEL_DIAMETER_PX = 30.0
#: Cellpose-SAM, the default of Cellpose 4.0-4.1 (4.2 downloads "cpsam_v2").
DEFAULT_MODEL = "cpsam"
_OUTPUTS = {"nuclei_labels": "labels", "nuclei_rois": "rois"}
_LOADED = models.LoadedModels()


def model_folder() -> Path:
    """Cellpose's own model folder (`cellpose.models.MODEL_DIR`), read without importing it."""
    env = os.environ.get("CELLPOSE_LOCAL_MODELS_PATH")
    return Path(env) if env else Path.home() / ".cellpose" / "models"


def resolve_model(value: str) -> Path:
    """The model file a `model` parameter names (see the module docstring)."""
    return models.lookup(
        value, f"{FUNC}: parameter 'model'", lambda name: [model_folder() / name],
        lambda path, what: models.regular_file(path, models.MAX_MODEL_BYTES, what),
        "run Cellpose once where it can download, copy the file there, "
        "or give the model file's path")


def compile_check(kwargs: dict[str, Any], pixel_size_um: float | None,
                  roots: AllowedRoots = UNCONFINED, channel_names: Sequence[str] = ()
                  ) -> list[tuple[str, str]]:
    """(parameter, message) for a missing package, a missing model or a length in µm on a plate
    without pixel size: what would make every well fail."""
    if not models.package_installed("cellpose"):
        return []  # `requires` names the install line (compiler/devices.py)
    problems = [(parameter, f"{FUNC}: {message}") for parameter, message in models.check_model(
        kwargs.get("model", DEFAULT_MODEL), resolve_model, roots)]
    for name in ("diameter_um", "tile_overlap_um"):
        if kwargs.get(name) and not pixel_size_um:
            problems.append((name, f"{FUNC}: {name} is in µm, but this plate carries no pixel "
                                   f"size; set {name}=0 to use the model's default"))
    return problems


def load_model(path: Path, device: Any) -> Any:
    """`CellposeModel` for the file at `path` on `device` (bfloat16 on CUDA, float32 on the
    CPU, where bfloat16 is slow), reused while the file and device stay the same."""
    import torch
    from cellpose.models import CellposeModel

    device = torch.device(device)
    return _LOADED.get(path, str(device), lambda: CellposeModel(
        gpu=device.type == "cuda", pretrained_model=str(path), device=device,
        use_bfloat16=device.type == "cuda"))


@register(memory="torch", category="segmentation", special_inputs=("pixel_size_um",),
          special_outputs=_OUTPUTS, requires={"cellpose": EXTRA})
def segment_cellpose(
    stack: Tensor, model: str = DEFAULT_MODEL, diameter_um: NonNegativeFloat = 0.0,
    flow_threshold: NonNegativeFloat = 0.4, cellprob_threshold: float = 0.0,
    min_area: NonNegativeInt = 15, tile_size: PositiveInt = 2048,
    tile_overlap_um: NonNegativeFloat = 0.0, batch_size: PositiveInt = 8,
    pixel_size_um: float | None = None,
) -> tuple[Tensor, np.ndarray, Outlines]:
    """Label objects with a Cellpose model, tile by tile (the model from a local file).

    `model`: a name in Cellpose's model folder or a file path; `diameter_um`: typical object
    diameter (0: no rescaling); `tile_overlap_um`: overlap of inference tiles (0: three
    diameters, at least 64 px). Returns (stack, labels, rois).
    """
    models.require_package("cellpose", FUNC, EXTRA)
    import torch

    path = resolve_model(model)
    tensor = stack if torch.is_tensor(stack) else torch.as_tensor(np.asarray(stack))
    if tensor.ndim == 2:
        tensor = tensor[None]
    if tensor.ndim != 3:
        raise ValueError(f"{FUNC}: expected an (N, Y, X) stack, got shape {tuple(tensor.shape)}")
    net = load_model(path, tensor.device)
    diameter = planes.to_pixels(diameter_um, pixel_size_um, FUNC, "diameter_um")
    overlap = planes.overlap_pixels(tile_overlap_um, diameter or MODEL_DIAMETER_PX, tile_size,
                                   pixel_size_um, FUNC)
    images = tensor.detach().to("cpu", torch.float32).numpy()

    def segmenter(plane: np.ndarray) -> planes.Segmenter:
        low_high = list(planes.plane_range(plane))

        def run(tile: np.ndarray) -> np.ndarray:
            masks, _, _ = net.eval(
                tile, batch_size=batch_size, normalize={"lowhigh": low_high},
                diameter=diameter or None, flow_threshold=flow_threshold,
                cellprob_threshold=cellprob_threshold, min_size=min_area)
            return np.asarray(masks)

        return run

    labels = planes.label_planes(images, segmenter, tile_size, overlap, FUNC)
    return stack, labels, TracedOnRead(labels)


segment_cellpose.__hcs_compile_check__ = compile_check  # type: ignore[attr-defined]
