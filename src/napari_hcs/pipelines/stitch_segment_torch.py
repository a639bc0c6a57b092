"""The default pipeline with the torch implementation of every step (GPU-ready).

`napari-hcs run stitch_segment_torch PLATE --out results --device cuda` runs it on
the GPU; with `--device cpu` torch runs on the CPU. Same steps and parameters as
`stitch_segment.py`, whose numpy functions these agree with (tests/engine/library).
"""

from napari_hcs.engine.functions.library.assembly import assemble_mosaic_torch
from napari_hcs.engine.functions.library.illumination import correct_illumination_torch
from napari_hcs.engine.functions.library.measure import measure_nuclei_torch
from napari_hcs.engine.functions.library.registration import compute_positions_torch
from napari_hcs.engine.functions.library.segmentation import segment_nuclei_torch
from napari_hcs.engine.pipeline import Pipeline, Step

pipeline = Pipeline(
    name="stitch_segment_torch",
    steps=[
        # Flat-field from each channel's own tiles (a well's sites share one illumination).
        Step(func=(correct_illumination_torch, {"smoothing": 0.15}), name="illumination",
             variable_components=("site",)),
        # Tile positions on the nuclei channel; other channels pass through unchanged.
        Step(func={"1": (compute_positions_torch, {"max_shift": 40.0})}, name="positions",
             group_by="channel", variable_components=("site",)),
        # Every channel is stitched at the nuclei channel's positions.
        Step(func=(assemble_mosaic_torch, {"blend": "linear"}), name="assembly",
             variable_components=("site",)),
        # Nuclei sized in µm (the plate's pixel size converts them): Otsu's three classes,
        # the middle class kept; clumps split by shape (docs/segmentation.md).
        Step(func={"1": (segment_nuclei_torch, {"min_diameter_um": 4.0, "max_diameter_um": 40.0,
                                     "threshold_method": "otsu3_foreground",
                                     "declump": "shape"})},
             name="nuclei", group_by="channel", variable_components=("site",)),
        # All channels of the mosaic together: mean intensity of each nucleus per channel.
        Step(func=measure_nuclei_torch, name="measurements", variable_components=("channel",)),
    ],
)
