"""`napari-hcs run PIPELINE omero://.../plate/ID --out omero://...`: read from and write back
to OMERO from the command line (against the file-backed stand-in: no OMERO server can run on
the test machine; see fake_blitz.py)."""

from __future__ import annotations

from napari_hcs.bridge.omero.source import OmeroPlateReader
from napari_hcs.bridge.omero.writer import NS_RUN
from napari_hcs.cli import main

PIPELINE = """\
from napari_hcs.engine.functions.library.segmentation import segment_nuclei
from napari_hcs.engine.pipeline import Pipeline, Step

pipeline = Pipeline([Step((segment_nuclei, {"min_diameter_um": 4.0}), name="segment")], name="seg")
"""


def test_cli_reads_omero_and_writes_results_back(seeded, tmp_path, capsys):
    pipeline = tmp_path / "seg.py"
    pipeline.write_text(PIPELINE)
    rc = main(["run", str(pipeline), seeded.url, "--out", seeded.url + "?target=wells",
               "--workers", "2", "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    assert not (tmp_path / "plate.zarr").exists()
    fresh = OmeroPlateReader(seeded.url)
    assert fresh.layout.sites == (1, 2, 3, 4, 5)  # each well got its result as a fifth field
    conn = seeded.omero.BlitzGateway("alice", "s3cret-Pa55word", host="omero.test", port=4064)
    assert conn.connect()
    plate = conn.getObject("Plate", seeded.plate.plate_id)
    records = [a for a in plate.listAnnotations(ns=NS_RUN) if hasattr(a, "getFileName")]
    assert records, "the run record is attached to the plate"


def test_cli_refuses_resume_without_a_local_folder(seeded, tmp_path, capsys):
    pipeline = tmp_path / "seg.py"
    pipeline.write_text(PIPELINE)
    rc = main(["run", str(pipeline), seeded.url, "--out", seeded.url, "--resume",
               "--no-progress"])
    assert rc == 2 and "--resume needs a local --out" in capsys.readouterr().err
