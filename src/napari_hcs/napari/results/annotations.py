"""Objects put in classes by clicking, and what a classifier makes of the rest: no Qt.

A person picks a class and clicks objects on the plate view; each click records the object
(its `well` and `label`, which stay valid when the layer's features are rebuilt) under that
class. Training takes those objects' rows of the features table (`engine.classify`); applying
gives every object a class, written back as the table's `class` column and counted per well.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...engine.classify import ObjectClassifier, class_counts

#: The classes a new panel starts with (renamed or added to by the user).
DEFAULT_CLASSES = ("class 1", "class 2")


@dataclass
class ClassAnnotations:
    """`{(well, label): class}` for clicked objects, and the list of classes."""

    classes: list[str] = field(default_factory=lambda: list(DEFAULT_CLASSES))
    objects: dict[tuple[str, int], str] = field(default_factory=dict)

    def add_class(self, name: str) -> None:
        name = name.strip()
        if name and name not in self.classes:
            self.classes.append(name)

    def annotate(self, well: str, label: int, name: str | None) -> None:
        """Put an object in class `name` (None: take it out of every class)."""
        key = (str(well), int(label))
        if name is None:
            self.objects.pop(key, None)
        else:
            self.add_class(name)
            self.objects[key] = name

    def counts(self) -> dict[str, int]:
        return class_counts(list(self.objects.values()), self.classes) if self.objects else {
            c: 0 for c in self.classes}

    def training_rows(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
        """The annotated objects' rows of `frame` and their classes (objects no longer in the
        table are left out)."""
        if not self.objects:
            return frame.iloc[:0], []
        keys = pd.DataFrame([(w, lab, c) for (w, lab), c in self.objects.items()],
                            columns=["well", "label", "__class"])
        rows = frame.assign(well=frame["well"].astype(str),
                            label=frame["label"].astype(np.int64))
        rows = rows.merge(keys, on=["well", "label"], how="inner")
        return rows.drop(columns="__class"), rows["__class"].tolist()

    def train(self, frame: pd.DataFrame, features: list[str] | None = None) -> ObjectClassifier:
        rows, classes = self.training_rows(frame)
        classifier = ObjectClassifier.from_rows(rows, classes, features=features)
        classifier.forest()  # trained here, in the worker, not on first prediction
        return classifier


def classify_frame(frame: pd.DataFrame, classifier: ObjectClassifier
                   ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(frame with a `class` column, per-object classes, per-well counts) for every object."""
    classes = classifier.predict(frame.drop(columns=["class"], errors="ignore"))
    classified = frame.assign(**{"class": pd.Categorical(classes,
                                                          categories=classifier.classes)})
    per_object = pd.DataFrame({"well": frame["well"].astype(str).to_numpy(),
                               "label": frame["label"].to_numpy(np.int64),
                               "class": np.asarray(classes, dtype=object).astype(str)})
    rows = [{"well": well, **{f"Count_{k}": v for k, v in
                              class_counts(group["class"].tolist(), classifier.classes).items()}}
            for well, group in per_object.groupby("well", sort=True)]
    return classified, per_object, pd.DataFrame(rows)
