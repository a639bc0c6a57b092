"""The run's outputs (DESIGN.md "Outputs"): plate.zarr, tables/*.parquet and run.json.

Workers write their own well (plate.zarr fields, per-well tables under `OUT/.parts/<well>/`);
the parent writes run.json after every well and merges the parts of all `ok` wells into
`tables/<name>.parquet` at the end. Every file is written atomically, so after a crash
`run.json` says exactly which wells are complete and `--resume` can finish the rest.
"""

from __future__ import annotations

import contextlib
import platform
import shutil
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from ..compiler.plan import WellPlan
from ..plate.wells import sort_wells
from ..vfs import FileManager, atomic_write, atomic_write_json, omezarr

PLATE = "plate.zarr"
TABLES = "tables"
PARTS = ".parts"
RUN_JSON = "run.json"
INTERMEDIATE = "intermediate.zarr"
POSITIONS = "positions"
_PACKAGES = ("napari-hcs", "numpy", "scipy", "scikit-image", "tifffile", "zarr", "ome-zarr",
             "pandas", "pyarrow", "torch", "cupy")


def storage_from_config(config: Mapping[str, Any]) -> omezarr.Storage:
    """The writer's `Storage` (levels, chunk edge, codec) from the run's configuration."""
    default = omezarr.Storage()
    return omezarr.Storage(
        levels=int(config.get("zarr_levels") or default.levels),
        chunk_size=int(config.get("zarr_chunk_size") or default.chunk_size),
        compression=str(config.get("zarr_compression") or default.compression),
    )


def write_well_outputs(
    plan: WellPlan,
    fields: Sequence[np.ndarray],
    channel_names: Sequence[str],
    field_labels: Sequence[Mapping[str, np.ndarray]],
    tables: Mapping[str, Any],
    positions: Any,
    pixel_size_um: float | None,
    config: Mapping[str, Any],
) -> None:
    """Write one well (in the worker): its fields into plate.zarr and its tables as parts."""
    out = Path(plan.output_dir or ".")
    storage = storage_from_config(config)
    for index, image in enumerate(fields):
        target = out / PLATE / omezarr.well_path(plan.well) / str(index)
        with _naming(target):
            omezarr.write_field(out / PLATE, plan.well, index, image,
                                channel_names=channel_names, pixel_size_um=pixel_size_um,
                                labels=field_labels[index], storage=storage)
    omezarr.prune_fields(out / PLATE, plan.well, len(fields))
    parts = FileManager(out, disk_dir=PARTS)
    with _naming(out / PARTS / plan.well):
        parts.delete(plan.well, "disk")  # a previous attempt's tables
        for name, frame in tables.items():
            parts.save(f"{plan.well}/{name}", frame, "disk")
        if positions is not None:
            parts.save(f"{plan.well}/{POSITIONS}", positions, "disk")


@contextlib.contextmanager
def _naming(target: Path) -> Iterator[None]:
    """OS errors from zarr/pyarrow often carry no file name; add the one we were writing."""
    try:
        yield
    except OSError as exc:
        if exc.filename:
            raise
        raise OSError(exc.errno, f"{exc.strerror or exc} (writing {target})") from exc


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def prepare_output(out: Path, wells: Sequence[str], *, resume: bool, name: str,
                   grid: tuple[int, int] | None = None) -> None:
    """Create the output folder and plate (`grid`: its physical rows and columns); without
    resume, our previous outputs are removed."""
    out.mkdir(parents=True, exist_ok=True)
    probe = out / ".write-probe"
    try:
        atomic_write(probe, lambda tmp: tmp.write_bytes(b""))
        probe.unlink()
    except OSError as exc:
        raise OSError(f"output folder {out} is not writable: {exc.strerror or exc}") from exc
    if not resume:
        for entry in (PLATE, TABLES, PARTS, INTERMEDIATE):
            path = out / entry
            if path.is_dir():
                shutil.rmtree(path)
    omezarr.create_plate(out / PLATE, wells, name=name, field_count=1, grid=grid)


class RunRecord:
    """run.json: written atomically at the start, after every well, and at the end."""

    def __init__(self, out: Path, *, resume: bool, info: Mapping[str, Any]) -> None:
        self.path = out / RUN_JSON
        previous = self._load() if resume else {}
        kept = {w: e for w, e in previous.get("wells", {}).items() if e.get("status") == "ok"}
        self.start = time.time()
        self.unsaved: str | None = None  # why the latest save failed (a full disk), if it did
        self.data: dict[str, Any] = {
            "status": "running",
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.start)),
            "finished": None,
            **info,
            "versions": versions(),
            "timings": {"seconds": 0.0, "wells_seconds": 0.0},
            "resumed_from": previous.get("started") if resume and previous else None,
            "wells": kept,
        }
        self.save(strict=True)

    def _load(self) -> dict[str, Any]:
        import json

        if not self.path.is_file():
            return {}
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise OSError(f"cannot resume: {self.path} is unreadable ({exc}); "
                          "run without --resume") from exc

    def ok_wells(self) -> set[str]:
        return {w for w, e in self.data["wells"].items() if e.get("status") == "ok"}

    def record(self, well: str, entry: Mapping[str, Any]) -> None:
        self.data["wells"][well] = dict(entry)
        self.data["wells"] = {w: self.data["wells"][w] for w in sort_wells(self.data["wells"])}
        self.data["timings"]["wells_seconds"] = round(
            sum(e.get("seconds", 0.0) for e in self.data["wells"].values()), 3)
        self.save()

    def finish(self, status: str, tables: Mapping[str, Path]) -> None:
        self.data["status"] = status
        self.data["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        self.data["timings"]["seconds"] = round(time.time() - self.start, 3)
        self.data["tables"] = {n: str(p) for n, p in sorted(tables.items())}
        self.save()

    def save(self, strict: bool = False) -> None:
        # A failed update (disk full) must not stop the run: the previous run.json stays
        # complete, and --resume merely redoes the wells it does not list as ok.
        try:
            atomic_write_json(self.path, self.data)
            self.unsaved = None
        except OSError as exc:
            if strict:
                raise
            self.unsaved = f"{self.path}: {exc}"


def merge_tables(out: Path, wells: Iterable[str]) -> dict[str, Path]:
    """Concatenate the per-well parts of `wells` into `tables/<name>.parquet` (atomically),
    units recorded in each file (`executor/tables.py`)."""
    from .tables import merge_tables as merge

    return merge(out, wells, PARTS, TABLES)
