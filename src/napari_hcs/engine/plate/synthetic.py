"""Synthetic wells with ground truth: a specimen, the tiles a microscope would take of it.

Per well: a large "specimen" image with nuclei-like ellipses (channel 1; a few touching pairs
so that watershed matters) and textured cytoplasm around them (channel 2: each cell is the part
of its nucleus's Voronoi territory within a few nucleus radii). Like a real specimen it is never
perfectly black between cells: both channels carry a faint fine-grained texture (debris, uneven
staining, out-of-focus haze) and the nuclear stain a faint cytoplasmic signal, so an overlap of
two tiles without any nucleus still holds structure that stitching can match. It is cut into an
overlapping grid of tiles at the *true* positions (nominal grid + a random integer stage
jitter), each tile dimmed by the same radial vignetting (the flat field that illumination
correction should recover), with Poisson + Gaussian noise, as uint16. Everything is derived
from (seed, well), so a well's data does not depend on which other wells are generated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from .wells import parse_well


@dataclass(frozen=True)
class SampleSpec:
    """What `write_sample_plate` generates. Sizes in pixels; `grid` and `tile` are (rows, cols)."""

    wells: tuple[str, ...] = ("A01", "A02", "B01", "B02")
    grid: tuple[int, int] = (2, 2)
    tile: tuple[int, int] = (256, 256)
    overlap: float = 0.1
    jitter: int = 3  # max stage error per axis, px (true = nominal + U{-jitter..jitter})
    channels: tuple[str, ...] = ("1", "2")  # "1": nuclei, "2": second stain (rings)
    z: int = 1
    timepoints: int = 1
    nuclei_per_tile: float = 12.0
    nucleus_radius: tuple[float, float] = (5.0, 9.0)
    touching_fraction: float = 0.15  # share of nuclei placed as touching pairs
    texture: float = 0.02  # mean of the faint specimen texture between cells (0: none)
    vignetting: float = 0.3  # flat field = 1 - vignetting * (r / r_max)^2
    signal: float = 3000.0  # photons at full specimen intensity
    background: float = 100.0  # camera offset, counts (not vignetted)
    read_noise: float = 5.0
    pixel_size_um: float = 0.65
    seed: int = 0


@dataclass
class SyntheticWell:
    """One well's tiles and the truth about them (positions in the stitched frame)."""

    tiles: dict[tuple[int, str, int, int], np.ndarray]  # (site, channel, z, t) -> (Y, X) uint16
    positions: dict[int, tuple[int, int]]
    nominal_positions: dict[int, tuple[int, int]]
    nuclei: list[tuple[float, float]]
    mosaic_shape: tuple[int, int]
    # Truth labels in the stitched frame (0: background); nucleus k lies inside cell k.
    nuclei_labels: np.ndarray | None = None
    cell_labels: np.ndarray | None = None


def flat_field(tile: tuple[int, int], strength: float) -> np.ndarray:
    """The radial fall-off applied to every tile: 1 at the centre, 1 - strength at the corners."""
    h, w = tile
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    r2 = ((yy - cy) ** 2 + (xx - cx) ** 2) / (cy**2 + cx**2)
    return (1.0 - strength * r2).astype(np.float32)


def nominal_positions(spec: SampleSpec) -> dict[int, tuple[int, int]]:
    """Site -> (y, x) of the nominal grid, row-major, site 1 at the top left."""
    ny, nx = spec.grid
    th, tw = spec.tile
    return {
        r * nx + c + 1: (round(r * th * (1 - spec.overlap)), round(c * tw * (1 - spec.overlap)))
        for r in range(ny)
        for c in range(nx)
    }


def _well_rng(spec: SampleSpec, well: str) -> np.random.Generator:
    row, col = parse_well(well)
    return np.random.default_rng([spec.seed, row, col])


def _place_nuclei(rng: np.random.Generator, shape: tuple[int, int], spec: SampleSpec) -> list:
    """Ellipses (cy, cx, a, b, angle, brightness): separated by a gap, except touching pairs."""
    h, w = shape
    rmin, rmax = spec.nucleus_radius
    n_tiles = spec.grid[0] * spec.grid[1]
    target = max(1, round(spec.nuclei_per_tile * n_tiles * (1 - spec.overlap) ** 2))
    margin = rmax + 2
    placed: list[tuple[float, float, float, float, float, float]] = []

    def free(cy: float, cx: float, r: float, ignore: int = -1) -> bool:
        inside = margin <= cy <= h - margin and margin <= cx <= w - margin
        return inside and all(
            (cy - p[0]) ** 2 + (cx - p[1]) ** 2 > (r + max(p[2], p[3]) + 3) ** 2
            for i, p in enumerate(placed)
            if i != ignore
        )

    def nucleus(cy: float, cx: float) -> tuple:
        a, b = sorted(rng.uniform(rmin, rmax, 2), reverse=True)
        return (cy, cx, a, b, rng.uniform(0, np.pi), rng.uniform(0.6, 1.0))

    for _ in range(target * 30):  # rejection sampling; dense specs end with fewer nuclei
        if len(placed) >= target:
            break
        cand = nucleus(rng.uniform(margin, h - margin), rng.uniform(margin, w - margin))
        if not free(cand[0], cand[1], cand[2]):
            continue
        placed.append(cand)
        if rng.random() < spec.touching_fraction and len(placed) < target:
            # A partner whose centre is (almost) the sum of the long radii away: the two
            # ellipses touch or overlap slightly, one blob to a threshold, two to watershed.
            theta = rng.uniform(0, 2 * np.pi)
            partner = nucleus(0.0, 0.0)
            dist = 0.9 * (cand[2] + partner[2])
            py, px = cand[0] + dist * np.sin(theta), cand[1] + dist * np.cos(theta)
            # Orient both long axes along the line joining them, so they really meet.
            partner = (py, px, partner[2], partner[3], theta, partner[5])
            if free(py, px, partner[2], ignore=len(placed) - 1):
                placed[-1] = cand[:4] + (theta, cand[5])
                placed.append(partner)
    return placed


def _ellipse_mask(cy, cx, a, b, angle, box: tuple[slice, slice]) -> np.ndarray:
    yy, xx = np.mgrid[box]
    dy, dx = yy - cy, xx - cx
    # angle is measured from the x axis towards +y, matching the partner direction above
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = -dx * np.sin(angle) + dy * np.cos(angle)
    return (u / a) ** 2 + (v / b) ** 2 <= 1.0


def _texture(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """A smooth random field of zero mean and unit standard deviation (grain about `sigma`)."""
    field = ndi.gaussian_filter(rng.standard_normal(shape, dtype=np.float32), sigma, truncate=3)
    return field / max(float(field.std()), 1e-12)


def _cells(shape: tuple[int, int], nuclei: list, cell_scale: float) -> tuple[np.ndarray, ...]:
    """Per pixel: the index of the nearest nucleus and whether it lies inside that cell
    (within `cell_scale` long radii of the centre), i.e. Voronoi territories of limited size."""
    seeds = np.ones(shape, bool)
    for cy, cx, *_ in nuclei:
        seeds[min(int(round(cy)), shape[0] - 1), min(int(round(cx)), shape[1] - 1)] = False
    dist, (iy, ix) = ndi.distance_transform_edt(seeds, return_indices=True)
    index = np.full(shape, -1, np.int32)
    for k, (cy, cx, *_) in enumerate(nuclei):
        index[min(int(round(cy)), shape[0] - 1), min(int(round(cx)), shape[1] - 1)] = k
    nearest = index[iy, ix]
    reach = np.array([n[2] * cell_scale for n in nuclei], np.float32)
    return nearest, dist <= reach[nearest]


def _render(rng: np.random.Generator, shape: tuple[int, int], nuclei: list,
            texture: float, cell_scale: float = 3.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(2, Y, X) float specimen in [0, 1]: nuclei (0) and cytoplasm (1), each with the faint
    texture of a real specimen between the cells; and the truth: nuclei and cell labels
    (nucleus k + 1 is the ellipse of nuclei[k], cell k + 1 its cytoplasm and nucleus)."""
    out = np.zeros((2, *shape), np.float32)
    core = np.zeros(shape, bool)
    nuclei_labels = np.zeros(shape, np.int32)
    for k, (cy, cx, a, b, angle, bright) in enumerate(nuclei):
        R = int(np.ceil(a)) + 2
        box = (
            slice(max(0, int(cy) - R), min(shape[0], int(cy) + R + 1)),
            slice(max(0, int(cx) - R), min(shape[1], int(cx) + R + 1)),
        )
        mask = _ellipse_mask(cy, cx, a, b, angle, box)
        core[box] |= mask
        # Where a touching pair overlaps, the brighter nucleus shows, and owns the pixel.
        owns = mask & (np.where(mask, bright, 0.0) > out[0][box])
        nuclei_labels[box][owns] = k + 1
        np.maximum(out[0][box], np.where(mask, bright, 0.0), out=out[0][box])
    # Cytoplasm stains unevenly (organelles, filaments) and the space between cells holds
    # debris and haze: one grain of a few pixels serves both (they never share a pixel).
    grain = np.clip(1.0 + 0.3 * _texture(rng, shape, 1.5), 0, None)
    cell = np.zeros(shape, bool)
    cell_labels = nuclei_labels.copy()
    if nuclei:
        nearest, inside = _cells(shape, nuclei, cell_scale)
        bright = np.array([n[5] for n in nuclei], np.float32)
        cell = inside & ~core
        cell_labels[cell] = nearest[cell] + 1
        out[1] = np.where(cell, 0.5 * bright[nearest] * grain, 0.0)
        out[0] += 0.04 * out[1]  # nuclear stains leave a faint cytoplasmic glow
    if texture > 0:
        out[1] += np.where(cell, 0.0, 2 * texture * grain)
        out[0] += texture * np.clip(1.0 + 0.6 * _texture(rng, shape, 2.0), 0, None)
    return out, nuclei_labels, cell_labels


def synthesize_well(spec: SampleSpec, well: str) -> SyntheticWell:
    """Tiles and ground truth of one well (deterministic in spec.seed and the well name)."""
    rng = _well_rng(spec, well)
    th, tw = spec.tile
    nominal = nominal_positions(spec)
    jitter = {s: tuple(int(v) for v in rng.integers(-spec.jitter, spec.jitter + 1, 2))
              for s in nominal}
    raw = {s: (nominal[s][0] + jitter[s][0], nominal[s][1] + jitter[s][1]) for s in nominal}
    oy = min(p[0] for p in raw.values())
    ox = min(p[1] for p in raw.values())
    true = {s: (y - oy, x - ox) for s, (y, x) in raw.items()}  # stitched frame: min at 0
    mosaic = (max(p[0] for p in true.values()) + th, max(p[1] for p in true.values()) + tw)

    nuclei = _place_nuclei(rng, mosaic, spec)
    specimen, nuclei_labels, cell_labels = _render(rng, mosaic, nuclei, spec.texture)
    flat = flat_field(spec.tile, spec.vignetting)
    zc = (spec.z + 1) / 2
    tiles = {}
    for z in range(1, spec.z + 1):
        # Out-of-focus planes are blurrier; the middle plane is the sharpest.
        sigma = 1.0 + 1.5 * abs(z - zc)
        planes = [ndi.gaussian_filter(specimen[i % 2], sigma) for i in range(len(spec.channels))]
        for t in range(1, spec.timepoints + 1):
            for ci, channel in enumerate(spec.channels):
                for site, (y, x) in true.items():
                    crop = planes[ci][y : y + th, x : x + tw]
                    expected = flat * (spec.signal * crop + 0.05 * spec.signal)
                    counts = rng.poisson(expected).astype(np.float32)
                    counts += spec.background + rng.normal(0, spec.read_noise, counts.shape)
                    tiles[(site, channel, z, t)] = np.clip(counts, 0, 65535).astype(np.uint16)
    return SyntheticWell(
        tiles=tiles,
        positions=true,
        nominal_positions=nominal,
        nuclei=[(float(n[0]), float(n[1])) for n in nuclei],
        mosaic_shape=mosaic,
        nuclei_labels=nuclei_labels,
        cell_labels=cell_labels,
    )
