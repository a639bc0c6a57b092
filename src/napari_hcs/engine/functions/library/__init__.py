"""The built-in processing library; importing it registers every built-in function.

One module per concept, each with a numpy function and its `*_torch` twin (see
docs/functions.md for the list): filters, illumination, background, normalize, projection,
registration and assembly (stitching), segmentation, measure, and external (scikit-image /
scipy functions registered as they are).
"""

from . import (  # noqa: F401  (imported to register their functions)
    assembly,
    background,
    external,
    filters,
    illumination,
    measure,
    normalize,
    projection,
    registration,
    segmentation,
)
