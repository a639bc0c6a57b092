"""A reopened run's tables are bounded by what their Parquet footers declare, before reading:
one table by `MAX_DECODED_BYTES`, all of a run's tables together by `MAX_RUN_DECODED_BYTES`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from napari_hcs.napari.results import output_tables
from napari_hcs.napari.results.output_tables import OutputTables


def _write_tables(tmp_path, names):
    folder = tmp_path / "tables"
    folder.mkdir()
    for name in names:
        pd.DataFrame({"well": ["A01"] * 1000, "label": np.arange(1, 1001),
                      "area": np.ones(1000)}).to_parquet(folder / f"{name}.parquet")
    return OutputTables(tmp_path / "plate.zarr")


def test_tables_within_the_budgets_are_read(tmp_path):
    tables = _write_tables(tmp_path, ["cells", "nuclei"])
    assert set(tables.read_all()) == {"cells", "nuclei"}
    assert len(tables.read("nuclei")) == 1000


def test_a_table_declaring_more_than_its_budget_is_not_read(tmp_path, monkeypatch):
    tables = _write_tables(tmp_path, ["nuclei"])
    declared = output_tables._decoded_bytes(tables.folder / "nuclei.parquet")
    assert declared and declared > 0
    monkeypatch.setattr(output_tables, "MAX_DECODED_BYTES", declared - 1)
    import pyarrow.parquet as pq

    reads = []
    monkeypatch.setattr(pq, "read_table", lambda *a, **k: reads.append(a))
    assert tables.read("nuclei") is None and reads == []  # refused before reading


def test_the_run_budget_stops_reading_further_tables(tmp_path, monkeypatch):
    tables = _write_tables(tmp_path, ["cells", "nuclei"])
    declared = output_tables._decoded_bytes(tables.folder / "cells.parquet")
    monkeypatch.setattr(output_tables, "MAX_RUN_DECODED_BYTES", declared + declared // 2)
    assert list(tables.read_all()) == ["cells"]  # sorted: cells first, then the budget is spent


def test_a_file_that_is_not_parquet_is_skipped(tmp_path):
    tables = _write_tables(tmp_path, ["nuclei"])
    (tables.folder / "junk.parquet").write_bytes(b"not a table")
    assert set(tables.read_all()) == {"nuclei"}
