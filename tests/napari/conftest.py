"""Fixtures for the plugin tests: a small hand-written plate and a session-free viewer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_hcs.engine.plate.model import ImageKey, PlateError, PlateLayout, PlateReader


class TiffFolderReader(PlateReader):
    """A minimal plate format for tests: `<well>_s<site>_c<channel>.tif` files in one folder."""

    format = "test-tiff"

    def __init__(self, root: str | Path, positions: dict[int, tuple[float, float]]) -> None:
        super().__init__(root)
        self._positions = positions

    @classmethod
    def detect(cls, root: Path) -> bool:
        return any(root.glob("*_s*_c*.tif"))

    @property
    def layout(self) -> PlateLayout:
        names = [p.stem.split("_") for p in sorted(self.root.glob("*_s*_c*.tif"))]
        first = tifffile.imread(next(self.root.glob("*.tif")))
        return PlateLayout(
            format=self.format, root=self.root,
            wells=tuple(sorted({n[0] for n in names})),
            sites=tuple(sorted({int(n[1][1:]) for n in names})),
            channels=tuple(sorted({n[2][1:] for n in names})),
            z=(1,), timepoints=(1,), shape=first.shape, dtype=str(first.dtype),
            channel_names={"1": "DAPI", "2": "GFP"}, site_positions=self._positions,
            rows=2, columns=3,
        )

    def image_path(self, key: ImageKey) -> str:
        return str(self.root / f"{key.well}_s{key.site}_c{key.channel}.tif")

    def read(self, key: ImageKey) -> np.ndarray:
        path = Path(self.image_path(key))
        if not path.exists():
            raise PlateError(f"missing image {path}")
        return tifffile.imread(path)


@pytest.fixture
def tiff_plate(tmp_path: Path) -> TiffFolderReader:
    """Wells A01, B02; 4 sites of 32x40 px on a 2x2 grid with 4 px overlap; 2 channels.

    Pixel value = 1000*site + 100*channel + well index, so a test can tell tiles apart.
    """
    root = tmp_path / "plate"
    root.mkdir()
    for wi, well in enumerate(("A01", "B02")):
        for site in range(1, 5):
            for channel in ("1", "2"):
                value = 1000 * site + 100 * int(channel) + wi
                tifffile.imwrite(root / f"{well}_s{site}_c{channel}.tif",
                                 np.full((32, 40), value, np.uint16))
    positions = {1: (10.0, 20.0), 2: (10.0, 56.0), 3: (38.0, 20.0), 4: (38.0, 56.0)}
    return TiffFolderReader(root, positions)


@pytest.fixture(scope="session")
def sample_plate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generator's ImageXpress sample: wells A01, A02, B01, B02, 2x2 sites of 64 px."""
    from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate

    root = tmp_path_factory.mktemp("sample") / "plate"
    return write_sample_plate(root, "imagexpress", SampleSpec(tile=(64, 64),
                                                              nuclei_per_tile=4.0))


@pytest.fixture(scope="session")
def plate96(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 96-well ImageXpress plate (8 x 12 in its HTD) with wells A01, B02 and H12 imaged,
    2 x 2 sites of 64 px, 0.65 µm pixels."""
    from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate

    root = tmp_path_factory.mktemp("plate96") / "plate"
    spec = SampleSpec(wells=("A01", "B02", "H12"), tile=(64, 64), nuclei_per_tile=4.0)
    return write_sample_plate(root, "imagexpress", spec)

