"""The modules of the built-in library whose functions are registered; importing this module
registers them all (the registry does, `registry.load_builtin_functions`).

One module per concept, each with a numpy function and its `*_torch` twin where one exists
(docs/functions.md): filters, illumination, background, normalize, projection, registration
and assembly (stitching), segmentation (nuclei) and measure; phenotypic profiling: cells
(cells and cytoplasm from nuclei), profiles (CellProfiler features through cp-measure),
aggregate (per-well profiles) and quality (per-site image quality); numpy only where the
reference is CPU code. scikit-image, scipy.ndimage and pyclesperanto functions are registered
as they are by `..external`, not here.
"""

from . import (  # noqa: F401  (imported to register their functions)
    aggregate,
    assembly,
    background,
    cells,
    classify,
    filters,
    illumination,
    measure,
    normalize,
    profiles,
    projection,
    quality,
    registration,
    segmentation,
)
