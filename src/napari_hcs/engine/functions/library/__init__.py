"""The built-in processing library; importing it registers the built-in functions.

One module per concept, each with a numpy function and its `*_torch` twin (see
docs/functions.md for the list): filters, illumination, background, normalize, projection,
registration and assembly (stitching), segmentation, measure, and external (scikit-image /
scipy functions registered as they are). Phenotypic profiling: cells (cells and cytoplasm
from nuclei), profiles (CellProfiler features through cp-measure), aggregate (per-well
profiles) and quality (per-site image quality); numpy only where the reference is CPU code.
`external` is not imported here: its scikit-image modules import scipy.stats, which few runs
need; the registry imports it on the first lookup (`registry.DEFERRED_BUILTINS`), so
`list_functions()` and `get_function()` still see it.
"""

from . import (  # noqa: F401  (imported to register their functions)
    aggregate,
    assembly,
    background,
    cells,
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
