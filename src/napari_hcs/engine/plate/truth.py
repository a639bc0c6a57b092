"""The ground truth of a sample plate, and how well found objects match it.

`load_truth_labels` reads the true nuclei or cells of a well (label images in the stitched
frame, written by `generator.write_sample_plate`); `match_objects` scores found labels against
them: a found object matches a true one when their intersection over union (IoU) is at least
`iou` (0.5 by default, the usual "F1@0.5"); pairs are taken one-to-one in decreasing IoU, so
each object matches at most once. F1 = 2 TP / (2 TP + FP + FN).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile

from .generator import load_ground_truth
from .model import PlateError


def load_truth_labels(root: str | Path, well: str, kind: str = "cells") -> np.ndarray:
    """The true `kind` ("nuclei" or "cells") labels of `well` of a sample plate, as int32."""
    truth = load_ground_truth(root)
    try:
        relative = truth["wells"][well]["labels"][kind]
    except KeyError:
        raise PlateError(f"{root}: no truth {kind!r} labels for well {well} (a sample plate "
                         "written before cell truth existed? write it again)") from None
    return tifffile.imread(Path(root) / relative).astype(np.int32)


@dataclass(frozen=True)
class MatchScore:
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def f1(self) -> float:
        tp = self.true_positives
        denominator = 2 * tp + self.false_positives + self.false_negatives
        return 2 * tp / denominator if denominator else 1.0

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        truth = self.true_positives + self.false_negatives
        return self.true_positives / truth if truth else 1.0


def match_objects(truth: np.ndarray, found: np.ndarray, iou: float = 0.5) -> MatchScore:
    """Score `found` labels against `truth` labels of the same shape (module docstring)."""
    if truth.shape != found.shape:
        raise ValueError(f"truth {truth.shape} and found {found.shape} labels differ in shape")
    t = truth.ravel().astype(np.int64)
    f = found.ravel().astype(np.int64)
    t_ids, f_ids = np.unique(t[t > 0]), np.unique(f[f > 0])
    t_area = np.bincount(t, minlength=int(t.max(initial=0)) + 1)
    f_area = np.bincount(f, minlength=int(f.max(initial=0)) + 1)
    both = (t > 0) & (f > 0)
    pairs, inter = np.unique(np.stack([t[both], f[both]]), axis=1, return_counts=True)
    scores = inter / (t_area[pairs[0]] + f_area[pairs[1]] - inter)
    matched_t: set[int] = set()
    matched_f: set[int] = set()
    for k in np.argsort(-scores, kind="stable"):
        if scores[k] < iou:
            break
        a, b = int(pairs[0, k]), int(pairs[1, k])
        if a not in matched_t and b not in matched_f:
            matched_t.add(a)
            matched_f.add(b)
    tp = len(matched_t)
    return MatchScore(tp, len(f_ids) - tp, len(t_ids) - tp)
