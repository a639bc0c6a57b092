"""The run's outputs (DESIGN.md "Outputs"): plate.zarr, tables/*.parquet and run.json.

Workers write their own well (plate.zarr fields, each with its rows of every table in its
`tables/` group as Fractal and ngio read them, and per-well tables under `OUT/.parts/<well>/`);
the parent writes run.json (`run_record`) after every well and merges the parts of all `ok`
wells into `tables/<name>.parquet` at the end. Every file is written atomically, so after a
crash `run.json` says exactly which wells are complete and `--resume` can finish the rest.
Which folder may be written and what may be removed: `output_folder`.
"""

from __future__ import annotations

import contextlib
import platform
from collections.abc import Iterable, Iterator, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from ..compiler.plan import WellPlan
from ..roots import AllowedRoots
from ..vfs import FileManager, omezarr
from ..vfs.zarr_tables import write_field_tables

PLATE = "plate.zarr"
TABLES = "tables"
PARTS = ".parts"
RUN_JSON = "run.json"
INTERMEDIATE = "intermediate.zarr"
POSITIONS = "positions"
_PACKAGES = ("napari-hcs", "numpy", "scipy", "scikit-image", "tifffile", "zarr", "ome-zarr",
             "pandas", "pyarrow", "torch", "cupy")


def ngff_version(config: Mapping[str, Any] | Any) -> str:
    """The NGFF version ("0.5", "0.4") of the run's `output_format` ("ngff-0.5")."""
    value = dict(config).get("output_format") or f"ngff-{omezarr.DEFAULT_VERSION}"
    version = str(value).removeprefix("ngff-")
    if version not in omezarr.VERSIONS:
        raise ValueError(f"output_format {value!r} is not one of "
                         f"{', '.join('ngff-' + v for v in omezarr.VERSIONS)}")
    return version


def plate_target(plan: WellPlan) -> str | Path:
    """Where the run's plate.zarr is: an object store's URL, or `output_dir/plate.zarr`."""
    url = plan.output.plate_url if plan.output is not None else None
    return url or Path(plan.output_dir or ".") / PLATE


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
    plate = plate_target(plan)
    roots = AllowedRoots(plan.roots)  # a resumed well is changed in place: no link may lead out
    if isinstance(plate, Path):
        roots.check_tree(plate / omezarr.well_path(plan.well))
    roots.check_tree(out / PARTS / plan.well)
    storage = storage_from_config(config)
    for index, image in enumerate(fields):
        with _naming(f"{plate}/{omezarr.well_path(plan.well)}/{index}"):
            omezarr.write_field(plate, plan.well, index, image,
                                channel_names=channel_names, pixel_size_um=pixel_size_um,
                                labels=field_labels[index], storage=storage)
    omezarr.prune_fields(plate, plan.well, len(fields))
    with _naming(f"{plate}/{omezarr.well_path(plan.well)}"):  # Fractal/ngio's tables
        write_field_tables(plate, omezarr.well_path(plan.well), tables)
    parts = FileManager(out, disk_dir=PARTS)
    with _naming(out / PARTS / plan.well):
        parts.delete(plan.well, "disk")  # a previous attempt's tables
        for name, frame in tables.items():
            parts.save(f"{plan.well}/{name}", frame, "disk")
        if positions is not None:
            parts.save(f"{plan.well}/{POSITIONS}", positions, "disk")


@contextlib.contextmanager
def _naming(target: Path | str) -> Iterator[None]:
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


def merge_tables(out: Path, wells: Iterable[str]) -> dict[str, Path]:
    """Concatenate the per-well parts of `wells` into `tables/<name>.parquet` (atomically),
    units recorded in each file (`executor/tables.py`)."""
    from .tables import merge_tables as merge

    return merge(out, wells, PARTS, TABLES)
