"""Object classes in a pipeline: apply a classifier trained in the Results panel, headless.

The napari-feature-classifier workflow, built in: click objects into classes in napari, train,
save the classifier (JSON training rows, `engine.classify`), then add a `classify_nuclei` (or
`classify_cells`) step after the step that measures the objects. Per well it writes the class
of every object (`tables/<objects>_classes.parquet`: `label`, `class`) and the count of each
class (`tables/<objects>_class_counts.parquet`: one row per well, `Count_<class>`).

The classifier was trained on features as the viewer shows them (lengths in micrometres when
the plate has a pixel size, like the run's tables), so the step converts the measured table the
same way (`executor.tables.to_physical`) before predicting.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

import numpy as np

from ...classify.model import ClassifierError, ClassifierFile, ObjectClassifier, class_counts
from ..registry import register
from ._lazy import Table, pd

ClassifierPath = Annotated[str, ClassifierFile()]


@lru_cache(maxsize=4)
def _classifier(path: str, mtime_ns: int, size: int) -> ObjectClassifier:
    """One trained forest per file version and process (a worker classifies many wells)."""
    del mtime_ns, size  # part of the cache key: a file saved again is read again
    classifier = ObjectClassifier.load(path)
    classifier.forest()
    return classifier


def _load(path: str) -> ObjectClassifier:
    import os

    info = os.stat(path)
    return _classifier(str(path), info.st_mtime_ns, info.st_size)


def classify_table(table: Table, classifier: ObjectClassifier, func: str, objects: str,
                   pixel_size_um: float | None) -> tuple[Table, Table]:
    """(per-object classes, one row of per-class counts) of a measured table."""
    from ...executor.tables import to_physical

    if not isinstance(table, pd.DataFrame) or "label" not in table.columns:
        raise ValueError(f"{func}: special input {objects!r} must be an object table with a "
                         "'label' column (link it to a measuring step)")
    shown = to_physical(table, pixel_size_um) if table.attrs.get("units") else table
    try:
        classes = classifier.predict(shown)
    except ClassifierError as exc:
        raise ValueError(f"{func}: {objects} table: {exc} (was the classifier trained on "
                         "another pipeline's measurements?)") from None
    per_object = pd.DataFrame({"label": table["label"].to_numpy(np.int64),
                               "class": pd.Series(classes, dtype=object).astype(str)})
    # The same label image as the measured objects: the run's table links to it
    # (`label_image`), like the objects' own table.
    per_object.attrs["labels"] = table.attrs.get("labels", f"{objects}_labels")
    counts = class_counts(classes, classifier.classes)
    per_well = pd.DataFrame([{f"Count_{k}": float(v) for k, v in counts.items()}])
    return per_object, per_well


@register(memory="numpy", category="measurement", special_inputs=("nuclei", "pixel_size_um"),
          special_outputs={"nuclei_classes": "table", "nuclei_class_counts": "table"})
def classify_nuclei(stack: np.ndarray, nuclei: Table, classifier: ClassifierPath = "",
                    pixel_size_um: float | None = None) -> tuple[np.ndarray, Table, Table]:
    """Put every nucleus in a class with a classifier saved from the Results panel.

    `classifier`: the classifier file (.json). Returns (stack unchanged, `label, class` per
    nucleus, one row of `Count_<class>`).
    """
    per_object, per_well = classify_table(nuclei, _load(classifier), "classify_nuclei",
                                          "nuclei", pixel_size_um)
    return stack, per_object, per_well


@register(memory="numpy", category="measurement", special_inputs=("cells", "pixel_size_um"),
          special_outputs={"cells_classes": "table", "cells_class_counts": "table"})
def classify_cells(stack: np.ndarray, cells: Table, classifier: ClassifierPath = "",
                   pixel_size_um: float | None = None) -> tuple[np.ndarray, Table, Table]:
    """Put every cell in a class with a classifier saved from the Results panel.

    `classifier`: the classifier file (.json). Returns (stack unchanged, `label, class` per
    cell, one row of `Count_<class>`).
    """
    per_object, per_well = classify_table(cells, _load(classifier), "classify_cells", "cells",
                                          pixel_size_um)
    return stack, per_object, per_well


