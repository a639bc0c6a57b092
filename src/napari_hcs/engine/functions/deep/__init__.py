"""Deep-learning segmentation through the models' own packages, where they are installed:
Cellpose (`napari-hcs[cellpose]`, torch) and StarDist (`napari-hcs[stardist]`, TensorFlow).

The functions are always registered (a pipeline that names one stays loadable); the compiler
refuses a step whose package or model is missing, with the install line or the folders it
looked in (`models.py`). Models come from the user's local cache or a path, never the network.
Large planes (stitched wells) are segmented in overlapping tiles whose objects are merged
across seams (`tiles.py`). See docs/deep-learning.md.
"""

from . import cellpose_segmentation, stardist_segmentation  # noqa: F401  (registers them)
