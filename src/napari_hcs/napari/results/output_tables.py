"""A run's measurement tables (`OUT/tables/*.parquet`) as the reopened labels' `features`.

Reopened labels must say what live ones say on hover, and `label` must be the pixel value
everywhere. Stored label images hold each well's own ids (1, 2, ... per well); the tables
(`well`, `label`, measurements) say how many objects each well has, so each well's ids are
shifted past the previous wells' lazily, tile by tile as napari reads them (`shift_levels`):
no pixel is read at open time. Wells are taken in plate order, each starting after the last
id of the wells before it (live runs number wells in the order they finish).

Tables are read off the GUI thread: the shift reads the `well`/`label` columns the first time
a tile needs them (in napari's slicing thread), and `load_features_later` reads the whole table
in a thread worker and sets `features` on the GUI thread. A table is a regular file of bounded
size (`MAX_TABLE_BYTES`); anything else is skipped with one log line.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .layers import object_features, table_for
from .output_zarr import Levels

log = logging.getLogger(__name__)

#: Tables larger than this are not loaded as features (napari validates them on the GUI thread).
MAX_TABLE_BYTES = 512 << 20
#: What a table may decode to (its row groups' uncompressed sizes, from the Parquet footer,
#: checked before reading: a small file can declare far more), and all of a run's tables
#: together when they are read for the session: 100,000 objects x 650 features are ~0.5 GiB.
MAX_DECODED_BYTES = 2 << 30
MAX_RUN_DECODED_BYTES = 4 << 30


class OutputTables:
    """The tables of one run output folder (the folder holding `plate.zarr` and `tables/`)."""

    def __init__(self, plate_zarr: str | Path) -> None:
        self.folder = Path(plate_zarr).parent / "tables"
        self._lock = threading.Lock()
        self._first_ids: dict[str, dict[str, int]] = {}

    def path_for(self, base: str) -> Path | None:
        """The table describing objects `base` (`nuclei` -> `nuclei.parquet`, ...)."""
        names = {p.stem: p for p in self._files()}
        found = table_for(base, names)
        return found if isinstance(found, Path) else None

    def _files(self) -> list[Path]:
        if not self.folder.is_dir() or self.folder.is_symlink():
            return []
        return [p for p in sorted(self.folder.glob("*.parquet"))
                if p.is_file() and not p.is_symlink()]

    def read_all(self) -> dict[str, pd.DataFrame]:
        """Every table of the run with a `well` column, by name (`nuclei`, `wells`, ...): the
        Results tab's measurements; the tile positions left out, as a live run leaves them."""
        frames, budget = {}, MAX_RUN_DECODED_BYTES
        for path in self._files():
            if path.stem == "positions":
                continue
            decoded = _decoded_bytes(path)
            if decoded is None or decoded > budget:
                log.warning("%s: not loaded (the run's tables would decode to more than %d "
                            "bytes together)", path, MAX_RUN_DECODED_BYTES)
                continue
            budget -= decoded
            frame = self._read_path(path)
            if frame is not None and "well" in frame.columns:
                frames[path.stem] = frame
        return frames

    def read(self, base: str, columns: list[str] | None = None) -> pd.DataFrame | None:
        path = self.path_for(base)
        if path is None:
            return None
        frame = self._read_path(path, columns)
        return frame if frame is not None and {"well", "label"} <= set(frame.columns) else None

    def _read_path(self, path: Path, columns: list[str] | None = None) -> pd.DataFrame | None:
        size = path.stat().st_size
        if size > MAX_TABLE_BYTES:
            log.warning("%s: %d bytes, more than %d: not loaded as features", path, size,
                        MAX_TABLE_BYTES)
            return None
        decoded = _decoded_bytes(path)
        if decoded is None or decoded > MAX_DECODED_BYTES:
            log.warning("%s: decodes to %s bytes, more than %d: not loaded as features", path,
                        decoded, MAX_DECODED_BYTES)
            return None
        import pyarrow.parquet as pq

        try:
            frame = pq.read_table(path, columns=columns).to_pandas()
        except Exception as exc:  # a damaged table: the labels still show, without features
            log.warning("%s: cannot read it as a table (%s)", path, exc)
            return None
        return frame

    def first_ids(self, base: str, wells: list[str]) -> dict[str, int]:
        """Each well's id shift: the objects of the wells before it (plate order)."""
        with self._lock:
            if base not in self._first_ids:
                table = self.read(base, ["well", "label"])
                last = ({} if table is None else
                        table.groupby("well")["label"].max().astype(int).to_dict())
                shifts, first = {}, 0
                for well in wells:
                    shifts[well] = first
                    first += int(last.get(well, 0))
                self._first_ids[base] = shifts
            return self._first_ids[base]

    def features(self, base: str, wells: list[str]) -> pd.DataFrame | None:
        """The labels layer's features: one row per object, as live results have them."""
        table = self.read(base)
        if table is None:
            return None
        first = self.first_ids(base, wells)
        parts = [object_features(well, first.get(well, 0), rows["label"].to_numpy(), rows)
                 for well, rows in table.groupby("well", sort=False) if well in first]
        return pd.concat(parts, ignore_index=True) if parts else None


def shift_levels(levels: Levels, tables: OutputTables, base: str, well: str,
                 wells: list[str]) -> Levels:
    """`levels` with `well`'s ids shifted to plate-unique ones, lazily (uint32, 0 stays 0)."""
    def shift(block: np.ndarray) -> np.ndarray:
        first = np.uint32(tables.first_ids(base, wells).get(well, 0))
        return np.where(block > 0, block.astype(np.uint32) + first, np.uint32(0))

    return [(factor, array.map_blocks(shift, dtype=np.uint32)) for factor, array in levels]


def _decoded_bytes(path: Path) -> int | None:
    """The uncompressed size the Parquet footer declares for `path`'s row groups (None for a
    file that is no readable Parquet table)."""
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
    except Exception as exc:  # not Parquet, or a damaged footer
        log.warning("%s: cannot read it as a table (%s)", path, exc)
        return None
    return sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))


def load_tables_later(tables: OutputTables, on_table: Any) -> Any:
    """Read every table in a thread worker; `on_table(name, frame)` on the GUI thread for
    each (the session's measurements: the Results tab, colour by). Once per output."""
    if getattr(tables, "_all_requested", False) or not tables._files():
        return None
    tables._all_requested = True
    from napari.qt.threading import create_worker

    worker = create_worker(tables.read_all, _ignore_errors=True)
    worker.returned.connect(lambda frames: [on_table(n, f) for n, f in frames.items()])
    worker.errored.connect(lambda exc: log.warning("tables not loaded: %s", exc))
    worker.start()
    return worker


def load_features_later(layer: Any, tables: OutputTables, base: str,
                        wells: list[str]) -> Any:
    """Read `base`'s table in a thread worker; set it as `layer.features` on the GUI thread.
    Returns the worker (None when there is no table)."""
    if tables.path_for(base) is None:
        return None
    from napari.qt.threading import create_worker

    worker = create_worker(tables.features, base, wells, _ignore_errors=True)

    def assign(frame: pd.DataFrame | None) -> None:
        if frame is not None:
            layer.features = frame

    worker.returned.connect(assign)
    worker.errored.connect(lambda exc: log.warning("%s: features not loaded: %s", base, exc))
    worker.start()
    return worker
