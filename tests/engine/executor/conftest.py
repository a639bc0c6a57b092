"""Generated plates and compiled plans for executor tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate

SMALL = SampleSpec(wells=("A01", "A02", "B01", "B02"), grid=(2, 2), tile=(64, 64),
                   nuclei_per_tile=4.0, seed=1)


@pytest.fixture(scope="session")
def plate_template(tmp_path_factory) -> Path:
    return write_sample_plate(tmp_path_factory.mktemp("tpl") / "plate", "imagexpress", SMALL)


@pytest.fixture
def plate(tmp_path, plate_template) -> Path:
    """A fresh copy of a small ImageXpress plate (tests may damage it)."""
    import shutil

    dst = tmp_path / "plate"
    shutil.copytree(plate_template, dst)
    return dst


@pytest.fixture
def tmpfs(tmp_path):
    """Mount a small tmpfs (a real full or read-only filesystem); skip where mounting is not
    allowed (not root / no CAP_SYS_ADMIN)."""
    import subprocess

    mounted = []

    def mount(size: str = "4m", read_only: bool = False) -> Path:
        point = tmp_path / f"mnt{len(mounted)}"
        point.mkdir()
        opts = f"size={size}" + (",ro" if read_only else "")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(point)],
                              capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)
