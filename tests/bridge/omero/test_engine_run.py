"""The engine runs a pipeline on an OMERO plate: compile, spawned workers read through
`open_plate(omero://...)`, and every finished well goes to OMERO through `on_result`."""

from __future__ import annotations

from napari_hcs.bridge.omero.source import OmeroPlateReader
from napari_hcs.bridge.omero.writer import OmeroResultWriter
from napari_hcs.engine.compiler import compile_pipeline
from napari_hcs.engine.executor import run_plans
from napari_hcs.engine.functions.library.segmentation import segment_nuclei
from napari_hcs.engine.pipeline import Pipeline, Step
from napari_hcs.engine.plate import detect_format, open_plate


def test_open_plate_dispatches_omero_urls(seeded):
    reader = open_plate(seeded.url)
    assert isinstance(reader, OmeroPlateReader) and detect_format(seeded.url) == "omero"
    assert open_plate(str(reader.root)).address == reader.address  # Path-collapsed "omero:/"


def test_pipeline_run_writes_each_well_back(seeded):
    reader = open_plate(seeded.url)
    pipeline = Pipeline([Step((segment_nuclei, {"min_diameter_um": 4.0}), name="segment")])
    compiled = compile_pipeline(pipeline, reader)  # OMERO is the only output
    writer = OmeroResultWriter.from_url(seeded.url)
    report = run_plans(compiled.plans, None, workers=2,
                       on_result=writer.write_well_result)
    assert sorted(report.ok) == ["A01", "A02"], report.failed
    record = writer.write_run_record({"pipeline": "segment"})
    writer.close()
    assert sorted(record["images"]) == ["A01", "A02"]
    target = OmeroPlateReader(f"omero://omero.test:4064/plate/{record['plate_id']}")
    assert target.layout.wells == ("A01", "A02")
