"""A few scikit-image and scipy functions registered as they are (numpy, applied per plane)."""

from __future__ import annotations

from skimage import exposure, filters, restoration

from ..registry import register_external

# Registered under their own names, so that users recognise them.
register_external(filters.sobel, category="filters")
register_external(filters.unsharp_mask, category="filters")
register_external(exposure.equalize_adapthist, category="intensity")
register_external(restoration.denoise_tv_chambolle, category="filters")
