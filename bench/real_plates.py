"""Plates cut from real fields, with CellProfiler's own segmentation as the reference.

The fields are vendored in `tests/data/cellpainting/` (CytoDataFrame test data, commit
462accbc18e5, BSD-3-Clause; README there) and `tests/data/dsb2018/` (StarDist's bundled
DSB-2018 image, BSD-3-Clause; README there):
- `nf1_field(well)`: NF1 Schwann cells (wells B7, D6, D7, F7, H12), DAPI and RFP (actin),
  904 x 1224 px. CellProfiler's masks are binary; the instances are rebuilt as its pipeline
  (`NF1_plate2_export_masks.cppipe`) made them: nuclei are the connected components of
  MaskNuclei (the pipeline does not declump: "Method to distinguish clumped objects: None"),
  cells are its propagation (regularization 0.05, `centrosome.propagate`) from those nuclei
  over MaskCells, on the RFP image;
- `pediatric_field()`: Opera Phenix field C03 site 3 of plate BR00143976, DNA (ch5) and AGP
  (ch3), 1080 x 1080 px; instances are CellProfiler's outlines filled (an outline pixel goes
  to the object it bounds);
- `dsb_field()`: StarDist's `test_image_nuclei_2d` (512 x 512, 125 annotated nuclei).

Pixel sizes are not in these files; the values used are those of the instruments named by the
data's sources (NF1: GE DeltaVision Elite, 20x; pediatric: Opera Phenix) and recorded in the
plates' metadata, so every size the pipelines read is in µm. `build_plate` cuts each field into
a grid of overlapping tiles with stage jitter, vignetting and read noise, and writes them as an
ImageXpress or Opera Phenix plate through the sample generator's writers (MetaSeries XML /
Harmony XML with the pixel size); the references land in its `ground_truth/` folder, in the
stitched frame.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import tifffile
from scipy import ndimage as ndi

from napari_hcs.engine.plate.generator import write_sample_plate
from napari_hcs.engine.plate.model import PlateError
from napari_hcs.engine.plate.synthetic import (
    SampleSpec,
    SyntheticWell,
    flat_field,
    nominal_positions,
)
from napari_hcs.engine.plate.wells import normalize_well

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "cellpainting"
NF1_WELLS = ("B7", "D6", "D7", "F7", "H12")
NF1_PIXEL_UM = 0.3225  # DeltaVision Elite 20x with 6.45 µm camera pixels (assumed)
PEDIATRIC_PIXEL_UM = 0.299  # Opera Phenix 40x water, binning 2 (assumed from nucleus sizes)
DSB_PIXEL_UM = 0.5  # not known; nuclei then measure ~10 µm across


@dataclass(frozen=True)
class RealField:
    """One field: channels (nuclei stain first), reference labels, pixel size."""

    name: str
    channels: tuple[np.ndarray, ...]
    nuclei: np.ndarray
    cells: np.ndarray | None
    pixel_size_um: float


def _read(path: Path) -> np.ndarray:
    return tifffile.imread(path)


def nf1_well(well: str) -> str:
    """The NF1 files' spelling (`B7`) of a well named as the plate names it (`B07`, `b7`);
    ValueError, listing the wells there are, for a well without fields."""
    spelling = {normalize_well(w): w for w in NF1_WELLS}
    try:
        return spelling[normalize_well(well)]
    except (KeyError, PlateError):
        raise ValueError(f"no NF1 field for well {well!r}: the wells are "
                         f"{', '.join(spelling)}") from None


def nf1_field(well: str) -> RealField:
    """The NF1 field of `well` (`B07` or `B7`)."""
    well = nf1_well(well)
    folder = DATA / "nf1_plate2"
    dapi = _read(next(folder.glob(f"{well}_01_1_*_DAPI_001.tif")))
    rfp = _read(next(folder.glob(f"{well}_01_3_*_RFP_001.tif")))
    nuclei_mask = _read(next(folder.glob(f"{well}_01_1_*_MaskNuclei.tiff"))) > 0
    cells_mask = _read(next(folder.glob(f"{well}_01_3_*_MaskCells.tiff"))) > 0
    nuclei = ndi.label(nuclei_mask)[0].astype(np.int32)
    return RealField(f"nf1_{well}", (dapi, rfp), nuclei,
                     propagated_cells(rfp, nuclei, cells_mask), NF1_PIXEL_UM)


def propagated_cells(image: np.ndarray, nuclei: np.ndarray, cells_mask: np.ndarray) -> np.ndarray:
    """CellProfiler's cells inside its binary cell mask: propagation (regularization 0.05, on
    the unsmoothed image as CellProfiler's IdentifySecondaryObjects) from the nuclei that lie
    in the mask (the others' cells were discarded at the edge)."""
    import centrosome.propagate

    inside = ndi.maximum(cells_mask, nuclei, np.arange(1, nuclei.max() + 1)).astype(bool)
    seeds = np.where(np.concatenate([[False], inside])[nuclei], nuclei, 0)
    scaled = image.astype(np.float64)
    scaled = np.clip(scaled / np.percentile(scaled, 99.9), 0.0, 1.0)
    cells, _ = centrosome.propagate.propagate(scaled, seeds, cells_mask | (seeds > 0), 0.05)
    cells[~cells_mask] = 0
    return cells.astype(np.int32)


def filled_outlines(outline: np.ndarray, min_area: int = 30) -> np.ndarray:
    """Instances of a CellProfiler outline image: the regions the outlines enclose (slivers
    under `min_area` px between adjacent outlines dropped), each grown over its outline."""
    from skimage.segmentation import expand_labels

    line = outline > 0
    filled = ndi.binary_fill_holes(line)
    inner = ndi.label(filled & ~line)[0]
    sizes = np.bincount(inner.ravel())
    small = sizes < min_area
    small[0] = False
    inner[small[inner]] = 0
    inner = ndi.label(inner > 0)[0]
    labels = expand_labels(inner, 2)
    labels[~filled] = 0
    return labels.astype(np.int32)


def pediatric_field() -> RealField:
    folder = DATA / "pediatric_BR00143976"
    dna = _read(folder / "r03c03f03p01-ch5sk1fk1fl1.tiff")
    agp = _read(folder / "r03c03f03p01-ch3sk1fk1fl1.tiff")
    nuclei = filled_outlines(_read(folder / "NucleiOutlines_BR00143976_C03_3.tiff"))
    cells = filled_outlines(_read(folder / "CellsOutlines_BR00143976_C03_3.tiff"))
    return RealField("pediatric_C03", (dna, agp), nuclei, cells, PEDIATRIC_PIXEL_UM)


def dsb_field() -> RealField:
    """StarDist's DSB-2018 test image and its annotation (`tests/data/dsb2018`, README there)."""
    folder = DATA.parent / "dsb2018"
    return RealField("dsb2018", (_read(folder / "img2d.tif"),),
                     _read(folder / "mask2d.tif").astype(np.int32), None, DSB_PIXEL_UM)


def magnified(field: RealField, factor: float) -> RealField:
    """The field as imaged `factor` times larger: resampled (images linear, labels nearest),
    pixel size divided by `factor`."""
    def zoom(a: np.ndarray, order: int) -> np.ndarray:
        out = ndi.zoom(a.astype(np.float32 if order else a.dtype), factor, order=order)
        return np.clip(out, 0, 65535).astype(a.dtype) if order else out

    return replace(field, name=f"{field.name}_x{factor:g}",
                   channels=tuple(zoom(c, 1) for c in field.channels),
                   nuclei=zoom(field.nuclei, 0),
                   cells=None if field.cells is None else zoom(field.cells, 0),
                   pixel_size_um=field.pixel_size_um / factor)


def _tile_shape(shape: tuple[int, int], grid: tuple[int, int], overlap: float,
                jitter: int) -> tuple[int, int]:
    """The largest tiles whose jittered grid fits in the field."""
    out = []
    for size, n in zip(shape, grid, strict=True):
        t = int((size - 2 * jitter) / (1 + (n - 1) * (1 - overlap)))
        while (n - 1) * round(t * (1 - overlap)) + 2 * jitter + t > size:
            t -= 1
        out.append(t)
    return out[0], out[1]


def cut_well(field: RealField, spec: SampleSpec, seed: int) -> SyntheticWell:
    """Tiles of one field on `spec`'s grid (stage jitter, vignetting, read noise), with the
    reference labels in the stitched frame."""
    rng = np.random.default_rng(seed)
    th, tw = spec.tile
    nominal = nominal_positions(spec)
    raw = {s: (y + spec.jitter + int(rng.integers(-spec.jitter, spec.jitter + 1)),
               x + spec.jitter + int(rng.integers(-spec.jitter, spec.jitter + 1)))
           for s, (y, x) in nominal.items()}
    oy, ox = min(p[0] for p in raw.values()), min(p[1] for p in raw.values())
    true = {s: (y - oy, x - ox) for s, (y, x) in raw.items()}
    mosaic = (max(p[0] for p in true.values()) + th, max(p[1] for p in true.values()) + tw)
    flat = flat_field(spec.tile, spec.vignetting)
    tiles = {}
    for ci, channel in enumerate(spec.channels):
        image = field.channels[ci][oy:oy + mosaic[0], ox:ox + mosaic[1]].astype(np.float32)
        for site, (y, x) in true.items():
            tile = image[y:y + th, x:x + tw] * flat + rng.normal(0, spec.read_noise, (th, tw))
            tiles[(site, channel, 1, 1)] = np.clip(np.rint(tile), 0, 65535).astype(np.uint16)
    crop = (slice(oy, oy + mosaic[0]), slice(ox, ox + mosaic[1]))
    cells = field.cells[crop] if field.cells is not None else field.nuclei[crop]
    return SyntheticWell(tiles=tiles, positions=true, nominal_positions=nominal, nuclei=[],
                         mosaic_shape=mosaic, nuclei_labels=field.nuclei[crop],
                         cell_labels=cells)


def build_plate(path: Path, fields: dict[str, RealField], format: str = "imagexpress",
                grid: tuple[int, int] = (3, 3), overlap: float = 0.1, jitter: int = 3,
                vignetting: float = 0.15, noise: float = 0.003, seed: int = 0) -> Path:
    """An ImageXpress / Phenix plate with one well per field (fields of one shape and pixel
    size), tiles cut on a `grid` with `overlap`; references in `ground_truth/`. `noise`: the
    read noise's standard deviation as a fraction of the nuclei channel's 99.9th percentile
    (the fields span 8-bit to 16-bit ranges)."""
    fields = {normalize_well(w): f for w, f in fields.items()}
    first = next(iter(fields.values()))
    shape = first.channels[0].shape
    if any(f.channels[0].shape != shape or f.pixel_size_um != first.pixel_size_um
           for f in fields.values()):
        raise ValueError("the fields of one plate need one shape and one pixel size")
    spec = _spec(first, tuple(fields), grid, overlap, jitter, vignetting, noise, seed)
    wells = {w: cut_well(f, spec, seed + i) for i, (w, f) in enumerate(fields.items())}
    return write_sample_plate(path, format, spec, wells=wells)


def _spec(field: RealField, wells: tuple[str, ...], grid: tuple[int, int], overlap: float,
          jitter: int, vignetting: float, noise: float, seed: int) -> SampleSpec:
    shape = field.channels[0].shape
    return SampleSpec(wells=wells, grid=grid, tile=_tile_shape(shape, grid, overlap, jitter),
                      overlap=overlap, jitter=jitter,
                      channels=("DAPI", "Cells")[:len(field.channels)], vignetting=vignetting,
                      read_noise=noise * float(np.percentile(field.channels[0], 99.9)),
                      pixel_size_um=field.pixel_size_um, seed=seed)


def stitched_field(field: RealField, grid: tuple[int, int] = (2, 2), overlap: float = 0.1,
                   jitter: int = 3, vignetting: float = 0.15, noise: float = 0.003,
                   seed: int = 0) -> RealField:
    """`field` cut into tiles as `build_plate` cuts it and stitched again at the tiles' true
    positions (`assemble_mosaic`, linear blend): a mosaic with zero padding where the jitter
    left no tile, its references in the mosaic's frame."""
    from napari_hcs.engine.functions.library.assembly import assemble_mosaic

    spec = _spec(field, ("A01",), grid, overlap, jitter, vignetting, noise, seed)
    well = cut_well(field, spec, seed)
    sites = sorted(well.positions)
    positions = np.array([well.positions[s] for s in sites], float)
    channels = tuple(
        assemble_mosaic(np.stack([well.tiles[(s, c, 1, 1)] for s in sites]), positions)[0]
        for c in spec.channels)
    return replace(field, name=f"{field.name}_stitched", channels=channels,
                   nuclei=well.nuclei_labels,
                   cells=None if field.cells is None else well.cell_labels)
