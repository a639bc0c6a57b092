"""NGFF metadata (plate, well, multiscales, image-label): 0.4 in zarr v2 group attributes, 0.5
in a zarr v3 group's `ome` attribute (`zarr_group.NgffAttributes` adds its `version`).

The same JSON that ome-zarr-py's `write_*_metadata(..., fmt=FormatV04())` writes, key for key
(0.5: `version` once beside them, and again in `plate` and `image-label` only, as ome-zarr-py
0.18 writes it), without importing
`ome_zarr`: its package import pulls in dask.array, scikit-image's transforms
and pydantic models (1.5-2.5 s per process), which every worker process of a run would pay
just to write a few small attribute dictionaries. Inputs here are built by `omezarr`, so only
the checks that can catch our own mistakes are kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

VERSION = "0.4"


def _versioned(obj: dict[str, Any], version: str) -> dict[str, Any]:
    """NGFF 0.4 repeats the version in every object; 0.5 has it once per group (`ome`)."""
    if version == "0.4":
        obj["version"] = version
    return obj


def _names(values: Sequence[str], what: str) -> list[dict[str, str]]:
    if len(set(values)) != len(values):
        raise ValueError(f"plate {what} {list(values)} must be unique")
    for value in values:
        if not value.isalnum():
            raise ValueError(f"plate {what[:-1]} {value!r} must be alphanumeric")
    return [{"name": str(v)} for v in values]


def write_plate(
    group: Any, rows: Sequence[str], columns: Sequence[str], wells: Sequence[str], *,
    name: str | None, field_count: int | None,
    acquisitions: Sequence[Mapping[str, Any]] = (),
) -> None:
    """`plate` attributes; `wells` are `row/column` paths; `acquisitions` e.g.
    `[{"id": 0, "name": "run", "maximumfieldcount": 1}]`."""
    row_list, col_list = list(rows), list(columns)
    plate: dict[str, Any] = {}
    if acquisitions:
        plate["acquisitions"] = [dict(a) for a in acquisitions]
    plate.update({
        "columns": _names(col_list, "columns"),
        "rows": _names(row_list, "rows"),
        "wells": [],
    })
    for path in wells:
        row, column = path.split("/")
        plate["wells"].append({"path": str(path), "rowIndex": row_list.index(row),
                               "columnIndex": col_list.index(column)})
    if name is not None:
        plate["name"] = name
    if field_count is not None:
        plate["field_count"] = field_count
    # 0.5 too, as ome-zarr-py writes it (ome-zarr-models warns without; its issue 218).
    plate["version"] = _version(group)
    group.attrs["plate"] = plate


def write_well(group: Any, images: Sequence[Mapping[str, Any]]) -> None:
    """`well` attributes: the well's fields (`[{"path": "0"}, ...]`)."""
    checked = []
    for image in images:
        if not isinstance(image.get("path"), str):
            raise ValueError(f"well image {dict(image)} needs a string 'path'")
        checked.append(dict(image))
    group.attrs["well"] = _versioned({"images": checked}, _version(group))


def _version(group: Any) -> str:
    return getattr(group, "ngff_version", VERSION)


def multiscales(
    datasets: list[dict[str, Any]], axes: list[dict[str, str]], name: str,
    omero: Mapping[str, Any] | None = None, version: str = VERSION,
) -> dict[str, Any]:
    """The attributes of a multiscale image group (`omero` first, as ome-zarr-py orders them)."""
    if not datasets:
        raise ValueError(f"multiscale image {name!r} has no datasets")
    attrs: dict[str, Any] = {}
    if omero is not None:
        attrs["omero"] = dict(omero)
    attrs["multiscales"] = [_versioned({"datasets": datasets, "name": name, "axes": axes},
                                       version)]
    return attrs


def add_label(labels_group: Any, name: str, label_attrs: Mapping[str, Any],
              source: Mapping[str, Any],
              colors: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """List label `name` in `labels/` and return the label group's attributes (its
    multiscales `label_attrs` plus `image-label` with `colors`), to be written in one update."""
    listed = list(labels_group.attrs.get("labels", []))
    if name not in listed:
        listed.append(name)
    labels_group.attrs["labels"] = listed
    image_label: dict[str, Any] = {}
    if colors:
        image_label["colors"] = [dict(c) for c in colors]
    image_label.update({"source": dict(source), "version": _version(labels_group)})
    return {**label_attrs, "image-label": image_label}


def label_colors(values: Sequence[int]) -> list[dict[str, Any]]:
    """`image-label` colours: background 0 transparent, every other value a bright hue stepped
    by the golden angle, so neighbouring labels differ and a label keeps its colour in every
    well and every viewer that reads them (napari-ome-zarr, vizarr, OMERO)."""
    import colorsys

    colors = []
    for value in values:
        value = int(value)
        if value == 0:
            rgba = [0, 0, 0, 0]
        else:
            r, g, b = colorsys.hsv_to_rgb((value * 0.618033988749895) % 1.0, 0.75, 1.0)
            rgba = [round(r * 255), round(g * 255), round(b * 255), 255]
        colors.append({"label-value": value, "rgba": rgba})
    return colors
