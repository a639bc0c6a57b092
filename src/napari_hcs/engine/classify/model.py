"""An object classifier: training rows (features, class) -> a random forest -> classes.

Saved as JSON, never pickled. A pickled (or joblib-dumped) forest is a program: loading one
runs whatever its author put in it, and nothing is unpickled in napari-hcs. The file holds what
the person decided instead: the feature names, each training object's values and class, and the
forest's parameters with a fixed seed. Loading retrains the forest; scikit-learn's
`RandomForestClassifier(random_state=seed, n_jobs=1)` is deterministic for the same rows in the
same order, so a loaded classifier predicts exactly what the saved one did (tested), and the
file also survives scikit-learn upgrades (a pickled forest does not). Retraining takes well under
a second for the few hundred objects people click (measured in tests/engine/classify).

Reading is bounded: a regular file (no link followed), at most `MAX_BYTES`, bounded JSON, and
every count (rows, features, classes) checked before arrays are made.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import annotated_types as at
import numpy as np

from ..json_limits import JsonLimitError, check_value, loads_bounded
from ..table_columns import measurement_columns

FORMAT = "napari-hcs object classifier"
VERSION = 1
#: A classifier file larger than this is refused before it is read.
MAX_BYTES = 64 << 20
MAX_ROWS = 200_000
MAX_FEATURES = 10_000
MAX_CLASSES = 256
MAX_NAME = 200

#: Measurements that say where an object is, not what it looks like (ids and metadata are
#: left out by `engine/table_columns.py`'s rule).
POSITION_COLUMNS = frozenset({"centroid_y", "centroid_x"})


class ClassifierError(ValueError):
    """A classifier file or training set that cannot be used; the text says why."""


def feature_columns(table: Any) -> list[str]:
    """The measurements of an object table that describe objects (not ids, metadata,
    positions, nor an earlier classification)."""
    return [c for c in measurement_columns(table) if c not in POSITION_COLUMNS
            and not c.startswith(("class", "Location_"))]


@dataclass(frozen=True)
class ForestParams:
    """The random forest's parameters (scikit-learn names); `seed` fixes its randomness."""

    n_estimators: int = 100
    max_depth: int | None = None
    min_samples_leaf: int = 1
    class_weight: str | None = "balanced"  # a rare class clicked a few times still counts
    seed: int = 0


def _matrix(table: Any, features: Sequence[str]) -> np.ndarray:
    values = np.array(table[list(features)].to_numpy(dtype=np.float64, na_value=np.nan))
    values[~np.isfinite(values)] = np.nan  # the forest handles NaN; infinities become NaN
    return values


@dataclass
class ObjectClassifier:
    """Training rows and forest parameters; `predict` trains on first use."""

    features: tuple[str, ...]
    classes: tuple[str, ...]
    values: np.ndarray  # (rows, features) float64, NaN where a feature is undefined
    targets: np.ndarray  # (rows,) index into `classes`
    params: ForestParams = field(default_factory=ForestParams)
    _forest: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_rows(cls, table: Any, classes: Iterable[str], *,
                  features: Sequence[str] | None = None,
                  params: ForestParams | None = None) -> ObjectClassifier:
        """A classifier from annotated objects: `table`'s rows and each row's class name."""
        names = [str(c) for c in classes]
        if len(names) != len(table):
            raise ClassifierError(f"{len(names)} classes for {len(table)} objects")
        features = tuple(features or feature_columns(table))
        missing = [f for f in features if f not in table.columns]
        if missing:
            raise ClassifierError(f"features not in the table: {', '.join(missing[:5])}")
        kinds = tuple(dict.fromkeys(names))
        if len(kinds) < 2:
            raise ClassifierError("put objects in at least two classes to train a classifier")
        targets = np.asarray([kinds.index(n) for n in names], np.int64)
        made = cls(features, kinds, _matrix(table, features), targets, params or ForestParams())
        made.check()
        return made

    def check(self) -> None:
        """Refuse sizes and shapes past the limits (before a forest is trained)."""
        rows, count = self.values.shape if self.values.ndim == 2 else (0, -1)
        if count != len(self.features) or len(self.targets) != rows:
            raise ClassifierError(f"{rows} training rows of {count} values do not match "
                                  f"{len(self.features)} features and {len(self.targets)} "
                                  "classes")
        if not (0 < rows <= MAX_ROWS and 0 < count <= MAX_FEATURES
                and 2 <= len(self.classes) <= MAX_CLASSES):
            raise ClassifierError(f"{rows} rows, {count} features, {len(self.classes)} classes:"
                                  f" limits are 1-{MAX_ROWS}, 1-{MAX_FEATURES}, 2-{MAX_CLASSES}")
        if self.targets.min() < 0 or self.targets.max() >= len(self.classes):
            raise ClassifierError("a training row's class is not in the class list")
        p = self.params
        if not (1 <= p.n_estimators <= 2000 and p.min_samples_leaf >= 1
                and (p.max_depth is None or p.max_depth >= 1)
                and p.class_weight in (None, "balanced")):
            raise ClassifierError(f"forest parameters out of range: {p}")

    # -- training and prediction ------------------------------------------------------------
    def forest(self) -> Any:
        """The trained forest (trained once; the same rows and seed give the same forest)."""
        if self._forest is None:
            try:
                from sklearn.ensemble import RandomForestClassifier
            except ImportError:
                raise ClassifierError("classifying objects needs scikit-learn: pip install "
                                      "'napari-hcs[classify]'") from None

            p = self.params
            forest = RandomForestClassifier(
                n_estimators=p.n_estimators, max_depth=p.max_depth,
                min_samples_leaf=p.min_samples_leaf, class_weight=p.class_weight,
                random_state=p.seed, n_jobs=1)
            self._forest = forest.fit(self.values, self.targets)
        return self._forest

    def missing(self, columns: Iterable[Any]) -> list[str]:
        have = {str(c) for c in columns}
        return [f for f in self.features if f not in have]

    def predict(self, table: Any) -> np.ndarray:
        """The class name of each row of `table` (object dtype)."""
        missing = self.missing(table.columns)
        if missing:
            more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
            raise ClassifierError(f"the table lacks the classifier's features "
                                  f"{', '.join(missing[:5])}{more}")
        if not len(table):
            return np.asarray([], dtype=object)
        index = self.forest().predict(_matrix(table, self.features))
        return np.asarray(self.classes, dtype=object)[index]

    # -- the file ---------------------------------------------------------------------------
    def to_document(self) -> dict[str, Any]:
        rows = [[None if np.isnan(v) else float(v) for v in row] for row in self.values]
        return {"format": FORMAT, "version": VERSION, "features": list(self.features),
                "classes": list(self.classes), "forest": asdict(self.params),
                "values": rows, "targets": [int(t) for t in self.targets]}

    @classmethod
    def from_document(cls, doc: Any, source: str = "classifier") -> ObjectClassifier:
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ClassifierError(f"{source}: not a napari-hcs classifier file")
        if doc.get("version") != VERSION:
            raise ClassifierError(f"{source}: classifier file version {doc.get('version')!r}; "
                                  f"this napari-hcs reads version {VERSION}")
        try:
            features = tuple(_names(doc["features"], MAX_FEATURES, "features"))
            classes = tuple(_names(doc["classes"], MAX_CLASSES, "classes"))
            rows, targets = doc["values"], doc["targets"]
            if not (isinstance(rows, list) and isinstance(targets, list)
                    and len(rows) == len(targets) <= MAX_ROWS):
                raise ClassifierError("values and targets must be two lists of equal length")
            if any(not isinstance(r, list) or len(r) != len(features) for r in rows):
                raise ClassifierError(f"every training row must hold {len(features)} values")
            values = np.array([[np.nan if v is None else v for v in r] for r in rows],
                              dtype=np.float64).reshape(len(rows), len(features))
            params = ForestParams(**doc.get("forest", {}))
            made = cls(features, classes, values, np.asarray(targets, dtype=np.int64), params)
            made.check()
        except ClassifierError as exc:
            raise ClassifierError(f"{source}: {exc}") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise ClassifierError(f"{source}: malformed classifier file ({exc})") from None
        return made

    def save(self, path: str | Path) -> Path:
        from ..vfs.atomic import atomic_write_json

        return atomic_write_json(path, self.to_document())

    @classmethod
    def load(cls, path: str | Path) -> ObjectClassifier:
        data = read_classifier_bytes(path)
        try:
            doc = loads_bounded(data, max_bytes=MAX_BYTES, max_depth=8, what=str(path))
            check_value(doc, max_depth=8, max_values=MAX_BYTES // 2,
                        max_string=MAX_NAME, max_bytes=MAX_BYTES * 2, what=str(path))
        except JsonLimitError as exc:
            raise ClassifierError(str(exc)) from None
        return cls.from_document(doc, str(path))


def _names(value: Any, limit: int, what: str) -> list[str]:
    if not isinstance(value, list) or not value or len(value) > limit:
        raise ClassifierError(f"{what} must be a list of 1-{limit} names")
    if any(not isinstance(v, str) or not v or len(v) > MAX_NAME for v in value):
        raise ClassifierError(f"{what} must be non-empty strings of at most {MAX_NAME} chars")
    if len(set(value)) != len(value):
        raise ClassifierError(f"{what} are not unique")
    return value


def classifier_file_problem(path: Any) -> str | None:
    """Why `path` cannot be a classifier file (missing, not a regular file, too large), or
    None; what the compiler checks before anything runs."""
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        return "give the classifier file (saved from the Results panel's Classify section)"
    try:
        info = os.lstat(path)
    except OSError:
        return f"classifier file {path} does not exist"
    if not stat.S_ISREG(info.st_mode):
        return f"classifier file {path} is not a regular file"
    if info.st_size > MAX_BYTES:
        return f"classifier file {path} is {info.st_size} bytes; the limit is {MAX_BYTES}"
    return None


def read_classifier_bytes(path: str | Path) -> bytes:
    """The file's bytes: a regular file (links not followed), size checked before reading."""
    problem = classifier_file_problem(path)
    if problem:
        raise ClassifierError(problem)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_BYTES:
            raise ClassifierError(f"classifier file {path} changed while it was read")
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(MAX_BYTES + 1)
    finally:
        os.close(fd)


def class_counts(classes: Sequence[str], known: Sequence[str]) -> dict[str, int]:
    """`{class: objects}` for every class of `known` (zero included), in its order."""
    names, counts = np.unique(np.asarray(classes, dtype=object).astype(str), return_counts=True)
    found = dict(zip(names.tolist(), counts.tolist(), strict=True))
    return {k: int(found.get(k, 0)) for k in known}


@dataclass(frozen=True)
class ClassifierFile(at.BaseMetadata):
    """`Annotated[str, ClassifierFile()]`: the value names a classifier file. The compiler
    asks `problem(value, roots)` (`compiler.validate`), so a missing, oversized or malformed file is
    reported, naming the step and parameter, before anything runs."""

    def problem(self, value: Any, roots: Any = None) -> str | None:
        """Why `value` is no usable classifier file; `roots` (`engine.roots.AllowedRoots`) is
        where a run driven from the network may read: a path resolving elsewhere is refused
        before anything is opened."""
        if roots is not None and getattr(roots, "confined", False) and value:
            from ..roots import OutsideRootsError

            try:
                roots.check(value, "read")
            except OutsideRootsError as exc:
                return f"classifier file: {exc}"
        found = classifier_file_problem(value)
        if found is None:
            try:
                ObjectClassifier.load(value)
            except ClassifierError as exc:
                return str(exc)
        return found

    def missing_columns(self, value: Any, columns: list[str], table: str,
                        roots: Any = None) -> str | None:
        """Which of the classifier's features the linked table will lack (compile time)."""
        if self.problem(value, roots):
            return None  # reported by `problem`; nothing outside the roots is read
        try:
            missing = ObjectClassifier.load(value).missing(columns)
        except ClassifierError:
            return None  # `problem` reported it
        if not missing:
            return None
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        return (f"the classifier's features {', '.join(missing[:5])}{more} are not in the "
                f"{table!r} table (was it trained on another pipeline's measurements?)")
