"""Phenotypic profiling: image quality, illumination, stitching, nuclei, cells, features, wells.

Run it headless with `napari-hcs run profile_cells PLATE --out results` (needs the profiling
extra: `pip install 'napari-hcs[profiles]'`), or load it in the Pipeline dock. Channel "1" is
the nuclei stain (DAPI / Hoechst), channel "2" a cytoplasm or membrane stain (the sample
plate's second channel). Writes, besides plate.zarr with nuclei, cell and cytoplasm labels,
tables in CellProfiler's layout (pycytominer reads them as they are): `tables/qc.parquet`
(per-site image quality), `tables/nuclei.parquet`, `cells.parquet`, `cytoplasm.parquet`
(CellProfiler features per object: JUMP's feature set), `tables/image.parquet` (per site:
counts and quality) and `tables/wells.parquet` (counts, medians and MADs per well);
docs/outputs.md lists their columns.
"""

from napari_hcs.engine.functions.library.aggregate import aggregate_profiles
from napari_hcs.engine.functions.library.assembly import assemble_mosaic
from napari_hcs.engine.functions.library.cells import identify_cells
from napari_hcs.engine.functions.library.illumination import correct_illumination
from napari_hcs.engine.functions.library.profiles import measure_profiles
from napari_hcs.engine.functions.library.quality import measure_image_quality
from napari_hcs.engine.functions.library.registration import compute_positions
from napari_hcs.engine.functions.library.segmentation import segment_nuclei
from napari_hcs.engine.pipeline import Pipeline, Step

pipeline = Pipeline(
    name="profile_cells",
    steps=[
        # On the raw tiles, before anything changes their intensities: one row per site.
        Step(func=measure_image_quality, name="quality", variable_components=("channel",)),
        # Flat-field from each channel's own tiles (a well's sites share one illumination).
        Step(func=(correct_illumination, {"smoothing": 0.15}), name="illumination",
             variable_components=("site",)),
        # Tile positions on the nuclei channel; every channel is stitched at them.
        Step(func={"1": (compute_positions, {"max_shift": 40.0})}, name="positions",
             group_by="channel", variable_components=("site",)),
        Step(func=(assemble_mosaic, {"blend": "linear"}), name="assembly",
             variable_components=("site",)),
        # Nuclei sized in µm (the plate's pixel size converts them): Otsu's three classes,
        # the middle class kept; clumps split by shape (docs/segmentation.md).
        Step(func={"1": (segment_nuclei, {"min_diameter_um": 4.0, "max_diameter_um": 40.0,
                                     "threshold_method": "otsu3_foreground",
                                     "declump": "shape"})},
             name="nuclei", group_by="channel", variable_components=("site",)),
        # Cells grown from the nuclei on channel 2 (CellProfiler's propagation) over the
        # stain's three-class Otsu foreground, its dim middle class (the cytoplasm) kept.
        Step(func=(identify_cells, {"channel": "2", "method": "propagation",
                                    "threshold_method": "otsu3_foreground"}), name="cells",
             variable_components=("channel",)),
        # All channels together: features of nuclei, cells and cytoplasm in every channel
        # (JUMP's set; costes=True adds Costes, groups=... chooses others).
        Step(func=(measure_profiles, {"texture_scales": [3, 5, 10]}), name="features",
             variable_components=("channel",)),
        Step(func=aggregate_profiles, name="wells", variable_components=("channel",)),
    ],
)
