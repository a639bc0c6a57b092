"""Write synthetic sample plates (ImageXpress, Opera Phenix, OME-Zarr) with ground truth.

`write_sample_plate(path, format, spec)` builds the plate in a temporary sibling folder and
renames it into place, then `ground_truth.json` at the plate root records, per well, the true
tile positions `{site: [y, x]}` in the stitched frame (top-left tile corner, minimum at 0), the
nominal grid positions, the nuclei count and centres, and the mosaic shape; and the flat field
used (also saved as `flat_field.npy`). The true nuclei and cells of each well are label images
in the stitched frame, `ground_truth/<well>_nuclei.tif` and `ground_truth/<well>_cells.tif`
(uint16, 0 background; nucleus k lies inside cell k), named per well in the JSON under
`labels`. See `synthetic.py` for how the images are made.
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import asdict
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import tifffile

from ..vfs.atomic import atomic_dir
from .imagexpress import OVERLAP_KEY
from .model import PlateError
from .synthetic import SampleSpec, SyntheticWell, flat_field, synthesize_well
from .wells import normalize_well, parse_well

SAMPLE_FORMATS = ("imagexpress", "phenix", "zarr")
GROUND_TRUTH = "ground_truth.json"
TRUTH_LABELS = "ground_truth"  # folder of the per-well truth label images
_PREFIX = "Plate"
_HARMONY_NS = "http://www.perkinelmer.com/PEHH/HarmonyV6"

__all__ = ["GROUND_TRUTH", "SAMPLE_FORMATS", "SampleSpec", "write_sample_plate"]


def _plate_dims(wells: tuple[str, ...]) -> tuple[int, int]:
    """(rows, columns) of the smallest standard plate (96/384/1536) holding `wells`."""
    rc = [parse_well(w) for w in wells]
    need_r, need_c = max(r for r, _ in rc) + 1, max(c for _, c in rc) + 1
    for rows, cols in ((8, 12), (16, 24), (32, 48)):
        if need_r <= rows and need_c <= cols:
            return rows, cols
    return need_r, need_c


def _bools(flags: list[bool]) -> str:
    return ", ".join("TRUE" if f else "FALSE" for f in flags)


def _write_htd(path: Path, spec: SampleSpec) -> None:
    rows, cols = _plate_dims(spec.wells)
    selected = {parse_well(w) for w in spec.wells}
    ny, nx = spec.grid
    lines = [
        '"HTSInfoFile", Version 1.0',
        '"Description", "napari-hcs synthetic plate"',
        f'"PlateType", {rows * cols}',
        f'"TimePoints", {spec.timepoints}',
        f'"ZSeries", {"TRUE" if spec.z > 1 else "FALSE"}',
        f'"ZSteps", {spec.z}',
        '"ZProjection", FALSE',
        f'"XWells", {cols}',
        f'"YWells", {rows}',
        *(
            f'"WellsSelection{r + 1}", {_bools([(r, c) in selected for c in range(cols)])}'
            for r in range(rows)
        ),
        f'"Sites", {"TRUE" if ny * nx > 1 else "FALSE"}',
        f'"XSites", {nx}',
        f'"YSites", {ny}',
        *(f'"SiteSelection{r + 1}", {_bools([True] * nx)}' for r in range(ny)),
        f'"Waves", {"TRUE" if len(spec.channels) > 1 else "FALSE"}',
        f'"NWavelengths", {len(spec.channels)}',
        *(f'"WaveName{i + 1}", "{name}"' for i, name in enumerate(spec.channels)),
        f'"{OVERLAP_KEY}", {spec.overlap}',
        f'"UniquePlateIdentifier", "{uuid.UUID(int=spec.seed)}"',
        '"EndFile"',
    ]
    path.write_text("\r\n".join(lines) + "\r\n")  # MetaXpress writes CRLF


def _imagexpress_name(spec: SampleSpec, well: str, site: int, ci: int) -> str:
    name = f"{_PREFIX}_{well}"
    if spec.grid[0] * spec.grid[1] > 1:
        name += f"_s{site}"
    if len(spec.channels) > 1:
        name += f"_w{ci + 1}"
    return name


def _metaseries_xml(spec: SampleSpec, well: str, site: int, channel: str, z: int,
                    position: tuple[int, int]) -> str:
    """The MetaSeries XML MetaXpress writes into each TIFF's ImageDescription: calibration
    (µm per pixel) and the stage position (µm) of the tile's top-left corner; the plate's
    only calibration, as on a real ImageXpress plate (the HTD records none)."""
    rows, _ = _plate_dims(spec.wells)
    pitch = 9000.0 * 8 / rows  # well spacing: 9 mm on a 96-well plate, 4.5 mm on 384
    row, col = parse_well(well)
    stage_y = 11240.0 + row * pitch + position[0] * spec.pixel_size_um
    stage_x = 14380.0 + col * pitch + position[1] * spec.pixel_size_um
    props = [
        ("spatial-calibration-state", "bool", "on"),
        ("spatial-calibration-x", "float", repr(float(spec.pixel_size_um))),
        ("spatial-calibration-y", "float", repr(float(spec.pixel_size_um))),
        ("spatial-calibration-units", "string", "um"),
        ("stage-position-x", "float", f"{stage_x:.3f}"),
        ("stage-position-y", "float", f"{stage_y:.3f}"),
        ("z-position", "float", f"{(z - 1) * 1.0:.3f}"),
        ("image-name", "string", escape(channel)),
        ("stage-label", "string", f"{well} : Site {site}"),
    ]
    plane = "".join(f'<prop id="{k}" type="{t}" value="{v}"/>\r\n' for k, t, v in props)
    return ('<MetaData>\r\n<prop id="ApplicationName" type="string" value="MetaXpress"/>\r\n'
            f"<PlaneInfo>\r\n{plane}</PlaneInfo>\r\n<SetInfo>\r\n"
            '<prop id="number-of-planes" type="int" value="1"/>\r\n</SetInfo>\r\n</MetaData>')


def _write_imagexpress(root: Path, spec: SampleSpec, wells: dict[str, SyntheticWell]) -> None:
    _write_htd(root / f"{_PREFIX}.HTD", spec)
    for well, data in wells.items():
        for (site, channel, z, t), tile in data.tiles.items():
            folder = root / f"TimePoint_{t}"
            if spec.z > 1:
                folder = folder / f"ZStep_{z}"
            folder.mkdir(parents=True, exist_ok=True)
            name = _imagexpress_name(spec, well, site, spec.channels.index(channel))
            xml = _metaseries_xml(spec, well, site, channel, z, data.nominal_positions[site])
            tifffile.imwrite(folder / f"{name}.TIF", tile, description=xml,
                             software="MetaSeries", metadata=None)
        # One preview per well, as MetaXpress writes them: readers must skip it.
        folder = root / "TimePoint_1" / ("ZStep_1" if spec.z > 1 else "")
        thumb = data.tiles[(1, spec.channels[0], 1, 1)][::4, ::4]
        tifffile.imwrite(folder / f"{_imagexpress_name(spec, well, 1, 0)}_thumb.TIF", thumb)


def _harmony_image(spec: SampleSpec, well: str, key: tuple, pos: tuple[int, int]) -> str:
    site, channel, z, t = key
    row, col = parse_well(well)
    ch = spec.channels.index(channel) + 1
    res = spec.pixel_size_um * 1e-6
    url = f"r{row + 1:02d}c{col + 1:02d}f{site:02d}p{z:02d}-ch{ch}sk{t}fk1fl1.tiff"
    fields = {
        "id": f"{row + 1:02d}{col + 1:02d}K{t}F{site}P{z}R{ch}",
        "State": "Ok",
        "URL": url,
        "Row": row + 1,
        "Col": col + 1,
        "FieldID": site,
        "PlaneID": z,
        "TimepointID": t - 1,
        "ChannelID": ch,
        "ChannelName": escape(channel),
        "ImageResolutionX": f"{res:.6E}",
        "ImageResolutionY": f"{res:.6E}",
        "ImageSizeX": spec.tile[1],
        "ImageSizeY": spec.tile[0],
        # Harmony's stage Y axis points up: a tile further down has a smaller PositionY.
        "PositionX": f"{pos[1] * res:.9E}",
        "PositionY": f"{-pos[0] * res:.9E}",
        "PositionZ": f"{(z - 1) * 1e-6:.6E}",
    }
    unit = {"ImageResolutionX", "ImageResolutionY", "PositionX", "PositionY", "PositionZ"}
    body = "".join(
        f'<{k} Unit="m">{v}</{k}>' if k in unit else f"<{k}>{v}</{k}>" for k, v in fields.items()
    )
    return f'    <Image Version="1">{body}</Image>', url


def _write_phenix(root: Path, spec: SampleSpec, wells: dict[str, SyntheticWell]) -> None:
    images_dir = root / "Images"
    images_dir.mkdir()
    entries, well_entries = [], []
    for well, data in wells.items():
        row, col = parse_well(well)
        refs = []
        for key, tile in data.tiles.items():
            xml, url = _harmony_image(spec, well, key, data.nominal_positions[key[0]])
            entries.append(xml)
            refs.append(f'<Image id="{xml.split("<id>")[1].split("</id>")[0]}" />')
            tifffile.imwrite(images_dir / url, tile)
        well_entries.append(
            f"    <Well><id>{row + 1:02d}{col + 1:02d}</id><Row>{row + 1}</Row>"
            f"<Col>{col + 1}</Col>{''.join(refs)}</Well>"
        )
    rows, cols = _plate_dims(spec.wells)
    xml = "\n".join(
        [
            '<?xml version="1.0" encoding="utf-8"?>',
            f'<EvaluationInputData xmlns="{_HARMONY_NS}" Version="2">',
            "  <User>napari-hcs</User>",
            "  <Plates><Plate><PlateID>sample</PlateID><PlateTypeName>synthetic</PlateTypeName>"
            f"<PlateRows>{rows}</PlateRows><PlateColumns>{cols}</PlateColumns></Plate></Plates>",
            "  <Wells>",
            *well_entries,
            "  </Wells>",
            "  <Images>",
            *entries,
            "  </Images>",
            "</EvaluationInputData>",
        ]
    )
    (images_dir / "Index.idx.xml").write_text(xml + "\n", encoding="utf-8")


def _write_zarr(root: Path, spec: SampleSpec, wells: dict[str, SyntheticWell]) -> None:
    from ..vfs.omezarr import create_plate, well_path, write_field

    if spec.timepoints != 1:
        raise PlateError(f"zarr sample plates hold one timepoint; spec asks {spec.timepoints}")
    n_sites = spec.grid[0] * spec.grid[1]
    create_plate(root, list(wells), name="sample", field_count=n_sites,
                 grid=_plate_dims(spec.wells))
    for well, data in wells.items():
        for site in range(1, n_sites + 1):
            image = np.stack(
                [
                    np.stack([data.tiles[(site, ch, z, 1)] for z in range(1, spec.z + 1)])
                    for ch in spec.channels
                ]
            )  # (C, Z, Y, X)
            if spec.z == 1:
                image = image[:, 0]
            write_field(root, well, site - 1, image, channel_names=list(spec.channels),
                        pixel_size_um=spec.pixel_size_um)
            _add_translation(root / well_path(well) / str(site - 1),
                             data.nominal_positions[site], spec.pixel_size_um)


def _add_translation(field: Path, position: tuple[int, int], pixel_size_um: float) -> None:
    """Record the nominal stage position as an NGFF `translation` (physical units) on every
    pyramid level, so a zarr sample carries stage positions like the other formats."""
    from ..vfs.zarr_group import Group

    group = Group.existing(field)  # NGFF 0.4 or 0.5, as the plate was written
    multiscales = group.attrs["multiscales"]
    for dataset in multiscales[0]["datasets"]:
        transforms = [t for t in dataset["coordinateTransformations"] if t["type"] == "scale"]
        lead = [0.0] * (len(transforms[0]["scale"]) - 2)
        shift = [position[0] * pixel_size_um, position[1] * pixel_size_um]
        dataset["coordinateTransformations"] = [
            *transforms, {"type": "translation", "translation": lead + shift}
        ]
    group.attrs["multiscales"] = multiscales


_WRITERS = {"imagexpress": _write_imagexpress, "phenix": _write_phenix, "zarr": _write_zarr}


def _ground_truth(fmt: str, spec: SampleSpec, wells: dict[str, SyntheticWell]) -> dict:
    def by_site(positions: dict[int, tuple[int, int]]) -> dict[str, list[int]]:
        return {str(s): [int(y), int(x)] for s, (y, x) in sorted(positions.items())}

    return {
        "format": fmt,
        "spec": asdict(spec),
        "tile_shape": list(spec.tile),
        "overlap": spec.overlap,
        "pixel_size_um": spec.pixel_size_um,
        "flat_field": {
            "file": "flat_field.npy",
            "model": "1 - strength * (r / r_max)**2, r from the tile centre, r_max its corner",
            "strength": spec.vignetting,
        },
        "wells": {
            well: {
                "positions": by_site(data.positions),
                "nominal_positions": by_site(data.nominal_positions),
                "nuclei_count": len(data.nuclei),
                "nuclei": [[round(y, 2), round(x, 2)] for y, x in data.nuclei],
                "mosaic_shape": list(data.mosaic_shape),
                "cells_count": len(data.nuclei),
                "labels": {kind: f"{TRUTH_LABELS}/{well}_{kind}.tif"
                           for kind in ("nuclei", "cells")},
            }
            for well, data in wells.items()
        },
    }


def _write_truth_labels(folder: Path, wells: dict[str, SyntheticWell]) -> None:
    folder.mkdir()
    for well, data in wells.items():
        for kind, labels in (("nuclei", data.nuclei_labels), ("cells", data.cell_labels)):
            tifffile.imwrite(folder / f"{well}_{kind}.tif", labels.astype(np.uint16),
                             compression="zlib")


def write_sample_plate(
    path: str | Path, format: str = "imagexpress", spec: SampleSpec = SampleSpec(),
    force: bool = False, wells: dict[str, SyntheticWell] | None = None,
) -> Path:
    """Write a synthetic plate at `path` (the plate folder; for zarr the `.zarr` store itself).

    An existing non-empty `path` is replaced only with `force=True`, and only if it is a sample
    plate (it holds `ground_truth.json`), so a real plate is never deleted by mistake.
    `wells` (tiles, positions and truth labels made elsewhere, e.g. cut from real fields by
    `bench/real_plates.py`) are written instead of synthesized ones; they must match `spec`.
    """
    if format not in _WRITERS:
        raise PlateError(f"unknown sample format {format!r}; choose one of {', '.join(_WRITERS)}")
    spec_wells = tuple(normalize_well(w) for w in spec.wells)
    if not spec_wells or len(set(spec_wells)) != len(spec_wells):
        raise PlateError(f"sample wells must be unique and non-empty, got {spec.wells}")
    root = Path(path)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        if not (root / GROUND_TRUTH).is_file():  # --force would not help: say so first
            raise PlateError(f"{root} exists and is not a sample plate (no {GROUND_TRUTH}); "
                             "refusing to replace it: choose a new folder")
        if not force:
            raise PlateError(f"{root} already holds a sample plate; pass --force to replace it")
    if wells is None:
        wells = {w: synthesize_well(spec, w) for w in spec_wells}
    elif tuple(normalize_well(w) for w in wells) != spec_wells:
        raise PlateError(f"wells {list(wells)} differ from the spec's {list(spec_wells)}")
    with atomic_dir(root) as tmp:
        _WRITERS[format](tmp, spec, wells)
        np.save(tmp / "flat_field.npy", flat_field(spec.tile, spec.vignetting))
        _write_truth_labels(tmp / TRUTH_LABELS, wells)
        truth = _ground_truth(format, spec, wells)
        (tmp / GROUND_TRUTH).write_text(json.dumps(truth, indent=1) + "\n")
    return root


def load_ground_truth(root: str | Path) -> dict:
    """The `ground_truth.json` of a sample plate."""
    path = Path(root) / GROUND_TRUTH
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise PlateError(f"{path} not found: not a napari-hcs sample plate") from None


def remove_sample_plate(root: str | Path) -> None:
    """Delete a sample plate (only one that holds `ground_truth.json`)."""
    root = Path(root)
    if not (root / GROUND_TRUTH).is_file():
        raise PlateError(f"{root} is not a sample plate (no {GROUND_TRUTH}); not removing it")
    shutil.rmtree(root)
