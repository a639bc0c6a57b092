"""`napari-hcs document PIPELINE` writes what a server gets; `napari-hcs run doc.json` runs it
without running any Python from the document; a bad document is one line per problem."""

from __future__ import annotations

import json

from napari_hcs.cli import main
from napari_hcs.engine.pipeline.document import FORMAT, pipeline_from_document
from napari_hcs.engine.plate.generator import SampleSpec, write_sample_plate
from napari_hcs.pipelines import load


def test_document_of_a_shipped_pipeline(tmp_path, capsys):
    assert main(["document", "stitch_segment"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["format"] == FORMAT and document["version"] == 1
    assert pipeline_from_document(document) == load("stitch_segment")
    assert main(["document", "stitch_segment", "-o", str(tmp_path / "p.json")]) == 0
    assert json.loads((tmp_path / "p.json").read_text()) == document


def test_run_a_document(tmp_path, capsys):
    plate = write_sample_plate(tmp_path / "plate", "imagexpress",
                               SampleSpec(wells=("A01",), grid=(1, 1), tile=(48, 48)))
    document = {"format": FORMAT, "version": 1, "name": "blur", "steps": [
        {"func": {"function": "gaussian_blur", "parameters": {"sigma": 1.0}}}]}
    path = tmp_path / "blur.json"
    path.write_text(json.dumps(document))
    assert main(["run", str(path), str(plate), "--out", str(tmp_path / "out"),
                 "--no-progress"]) == 0
    assert (tmp_path / "out" / "plate.zarr").is_dir()
    capsys.readouterr()

    document["steps"][0]["func"] = {"function": "napari_hcs.cli:main",
                                    "parameters": {"argv": ["sample", str(tmp_path / "x")]}}
    document["steps"].append({"func": {"function": "gaussian_blur",
                                       "parameters": {"sigma": "big"}}})
    path.write_text(json.dumps(document))
    assert main(["run", str(path), str(plate), "--out", str(tmp_path / "out2"),
                 "--no-progress"]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 2 and all(line.startswith("error: step ") for line in errors)
    assert "'napari_hcs.cli:main' is not a registered function" in errors[0]
    assert "'sigma' expects float" in errors[1]
    assert not (tmp_path / "x").exists() and not (tmp_path / "out2").exists()
