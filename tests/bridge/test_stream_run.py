"""A whole sample-plate run streamed by `napari-hcs run --stream` into a receiver."""

from __future__ import annotations

import numpy as np

from napari_hcs.bridge.stream import StreamReceiver
from napari_hcs.cli import main
from napari_hcs.engine.vfs.omezarr import read_field, read_labels


def test_run_streams_every_well_in_order_and_matches_the_outputs(sample_plate, plate_wells,
                                                                  pipeline_file, tmp_path):
    out = tmp_path / "out"
    with StreamReceiver() as receiver:
        code = main(["run", str(pipeline_file), str(sample_plate), "--out", str(out),
                     "--stream", receiver.address, "--no-progress"])
        messages = []
        while len([m for m in messages if m.kind == "status"]) < len(plate_wells):
            messages.append(receiver.messages.get(timeout=30))
    assert code == 0
    assert receiver.rejected == 0

    for well in plate_wells:
        kinds = [m.kind for m in messages if m.well == well and m.kind != "progress"]
        assert kinds[0] == "image" and kinds[-1] == "status", kinds
        assert "labels" in kinds and "rois" in kinds
        by_kind = {m.kind: m for m in messages if m.well == well}
        assert by_kind["status"].header["status"] == "ok"
        image = by_kind["image"]
        assert image.header["axes"] == "cyx"
        assert image.header["channel_names"] == ["1", "2"]
        # The sample plate's only calibration is the MetaSeries XML of its TIFFs.
        assert image.header["pixel_size_um"] == 0.65
        written = read_field(out / "plate.zarr", well, 0)
        np.testing.assert_array_equal(image.data, written.reshape(image.data.shape))
        labels = by_kind["labels"]
        assert labels.data.shape == image.data.shape[1:]
        assert labels.header["pixel_size_um"] == by_kind["rois"].header["pixel_size_um"] == 0.65
        np.testing.assert_array_equal(
            labels.data, read_labels(out / "plate.zarr", well, 0, labels.name).reshape(
                labels.data.shape))
        polygons = by_kind["rois"].polygons()
        assert len(polygons) == len(np.unique(labels.data)) - 1 > 0
        assert all(p.shape[1] == 2 for p in polygons)
        tables = {m.name: m for m in messages if m.well == well and m.kind == "table"}
        assert tables["positions"].header["units"]["y_um"] == "micrometer"
        if "nuclei" in tables:  # the shipped pipeline measures; a fallback file may not
            assert tables["nuclei"].header["units"]["area"] == "micrometer**2"
        states = [m.header["state"] for m in messages if m.well == well and m.kind == "progress"]
        assert states[0] == "started" and states[-1] == "ok"
