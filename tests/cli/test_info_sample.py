"""`napari-hcs sample` and `napari-hcs info`, including bad input (one line, exit 2)."""

import json
import subprocess
import sys

import pytest

from napari_hcs.cli import main


@pytest.mark.parametrize("fmt", ["imagexpress", "phenix", "zarr"])
def test_sample_then_info(tmp_path, capsys, fmt):
    plate = tmp_path / ("plate.zarr" if fmt == "zarr" else "plate")
    argv = ["sample", str(plate), "--format", fmt, "--wells", "A01,C03", "--grid", "3",
            "--tile", "48", "--seed", "1"]
    assert main(argv) == 0
    assert f"wrote {fmt} sample plate to {plate}" in capsys.readouterr().out
    assert (plate / "ground_truth.json").is_file()
    assert main(["info", str(plate)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info == {
        "format": fmt,
        "wells": ["A01", "C03"],
        "sites": list(range(1, 10)),
        "channels": ["1", "2"],
        "z": [1],
        "timepoints": [1],
        "shape": [48, 48],
        "dtype": "uint16",
        "rows": 8,
        "columns": 12,
        "pixel_size_um": 0.65,
        "channel_names": {"1": "1", "2": "2"},
    }


def test_sample_refuses_to_overwrite_without_force(tmp_path, capsys):
    plate = tmp_path / "p"
    assert main(["sample", str(plate), "--wells", "A01", "--tile", "32"]) == 0
    assert main(["sample", str(plate), "--wells", "A01", "--tile", "32"]) == 2
    assert "already holds a sample plate; pass --force" in capsys.readouterr().err
    assert main(["sample", str(plate), "--wells", "B01", "--tile", "32", "--force"]) == 0


def test_info_on_a_non_plate_is_one_line_exit_2(tmp_path):
    (tmp_path / "readme.txt").write_text("not a plate")
    done = subprocess.run(
        [sys.executable, "-m", "napari_hcs.cli", "info", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert str(tmp_path) in lines[0] and "not a known plate" in lines[0]
    assert "Traceback" not in done.stderr


def test_info_on_a_plate_whose_htd_disagrees(tmp_path, capsys):
    plate = tmp_path / "p"
    assert main(["sample", str(plate), "--wells", "A01", "--tile", "32"]) == 0
    for f in (plate / "TimePoint_1").glob("*_s4_*"):
        f.unlink()
    assert main(["info", str(plate)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "Plate.HTD says 4 sites" in err
    assert len(err.splitlines()) == 1


def test_sample_density_sets_the_cells_per_tile(tmp_path):
    import json

    from napari_hcs.cli import main

    counts = []
    for density in ("4", "30"):
        plate = tmp_path / density
        assert main(["sample", str(plate), "--wells", "A01", "--grid", "1",
                     "--cells-per-tile", density]) == 0
        counts.append(json.loads((plate / "ground_truth.json").read_text())
                      ["wells"]["A01"]["cells_count"])
    assert counts == [round(4 * 0.9**2), round(30 * 0.9**2)]  # overlaps (10 %) are shared
