"""Read -> process -> write through the stand-in: images, ROIs, tables, the run record."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from skimage.measure import label, regionprops_table

from napari_hcs.bridge.omero.shapes import parse_points, unpack_mask
from napari_hcs.bridge.omero.source import OmeroPlateReader
from napari_hcs.bridge.omero.writer import NS_RUN, NS_TABLE, OmeroResultWriter
from napari_hcs.engine.executor.events import WellResult
from napari_hcs.engine.plate.model import ImageKey


def process_well(reader: OmeroPlateReader, well: str) -> WellResult:
    """A tiny real pipeline: mosaic the fields at their stage positions, segment channel 1."""
    layout = reader.layout
    tile = np.array(layout.shape)
    corners = {s: np.round(layout.site_positions[s]).astype(int) for s in layout.sites}
    size = tile + np.max(list(corners.values()), axis=0)
    mosaic = np.zeros((len(layout.channels), *size), dtype=np.uint16)
    for site, (y, x) in corners.items():
        for c, channel in enumerate(layout.channels):
            mosaic[c, y : y + tile[0], x : x + tile[1]] = reader.read(ImageKey(well, site, channel))
    labels = label(mosaic[0] > 500).astype(np.int32)
    table = pd.DataFrame(regionprops_table(labels, properties=("label", "area", "centroid")))
    return WellResult(
        well=well, status="ok", image=mosaic, channel_names=["DAPI", "GFP"],
        labels={"nuclei": labels}, tables={"nuclei": table},
        rois={"fields": [np.array([[y, x], [y, x + tile[1]], [y + tile[0], x + tile[1]],
                                   [y + tile[0], x]], float) for y, x in corners.values()]},
        positions=pd.DataFrame([{"site": s, "y": yx[0], "x": yx[1]} for s, yx in corners.items()]),
    )


def annotation_bytes(ann) -> bytes:
    return b"".join(ann.getFileInChunks())


def test_read_process_write_round_trip(seeded):
    reader = OmeroPlateReader(seeded.url)
    writer = OmeroResultWriter.from_url(seeded.url)
    results = {w: process_well(reader, w) for w in reader.layout.wells}
    for result in results.values():
        writer.write_well_result(result)
    writer.write_well_result(WellResult(well="B01", status="failed", error="step 2 failed"))
    record = writer.write_run_record({"pipeline": "p.py", "wells": {"A01": {"status": "ok"}}})
    writer.close()

    conn = seeded.omero.BlitzGateway("bob", "bobpw", host="omero.test", port=4064)
    assert conn.connect()
    target = conn.getObject("Plate", record["plate_id"])
    assert record["plate_id"] != seeded.plate.plate_id
    assert target.getName() == "screen-1 plate (napari-hcs)"
    wells = {(w.row, w.column): w for w in target.listChildren()}
    assert sorted(wells) == [(0, 0), (0, 1)]  # the failed well wrote no image

    for (_, column), well in wells.items():
        name = f"A{column + 1:02d}"
        result = results[name]
        image = well.getWellSample(0).getImage()
        assert image.getId() == record["images"][name]
        assert image.getChannelLabels() == ["DAPI", "GFP"]
        pixels = image.getPrimaryPixels()
        for c in range(2):
            np.testing.assert_array_equal(pixels.getPlane(0, c, 0), result.image[c])
        rois = conn.getRoiService().findByImage(image.getId(), None).rois
        nuclei = [r for r in rois if r.getName().getValue().startswith("nuclei ")]
        assert len(nuclei) == result.labels["nuclei"].max() > 0
        assert len(rois) - len(nuclei) == 4  # one polygon per field outline
        # each nucleus outline surrounds its label's centroid
        props = result.tables["nuclei"].set_index("label")
        for roi in nuclei:
            lab = int(roi.getName().getValue().split()[1])
            outline = parse_points(roi.copyShapes()[0].getPoints().getValue())
            center = outline.mean(axis=0)
            expected = props.loc[lab, ["centroid-0", "centroid-1"]].to_numpy(float)
            assert np.allclose(center, expected, atol=1.0)

    anns = {a.getFileName(): a for a in target.listAnnotations(ns=NS_TABLE)}
    assert sorted(anns) == ["nuclei.csv", "positions.csv"]
    nuclei = pd.read_csv(io.BytesIO(annotation_bytes(anns["nuclei.csv"])))
    assert set(nuclei["well"]) == {"A01", "A02"}
    assert len(nuclei) == sum(int(r.labels["nuclei"].max()) for r in results.values())
    positions = pd.read_csv(io.BytesIO(annotation_bytes(anns["positions.csv"])))
    assert list(positions.columns) == ["well", "site", "y", "x"] and len(positions) == 8

    (run_ann,) = [a for a in target.listAnnotations(ns=NS_RUN) if hasattr(a, "getFileName")]
    assert json.loads(annotation_bytes(run_ann))["pipeline"] == "p.py"
    (summary,) = [a for a in target.listAnnotations(ns=NS_RUN) if hasattr(a, "getValue")]
    assert dict(summary.getValue()) == {
        "source_plate": str(seeded.plate.plate_id), "wells_ok": "2", "wells_failed": "B01"}


def test_run_record_and_logs_carry_no_secrets(seeded, caplog):
    writer = OmeroResultWriter.from_url(seeded.url)
    leaky = {"config": {"omero_password": "s3cret-Pa55word", "note": "pw=s3cret-Pa55word"},
             "argv": ["run", "--token", "s3cret-Pa55word"], "session_key": "abc"}
    with caplog.at_level("INFO", logger="napari_hcs.bridge.omero"):
        record = writer.write_run_record(leaky)
        from napari_hcs.bridge.omero.credentials import log
        log.info("connected with %s", "s3cret-Pa55word")
    conn = seeded.omero.BlitzGateway("alice", "s3cret-Pa55word", host="omero.test", port=4064)
    assert conn.connect()
    text = annotation_bytes(next(
        a for a in conn.getObject("Plate", record["plate_id"]).listAnnotations(ns=NS_RUN)
        if hasattr(a, "getFileName")
    )).decode()
    assert "s3cret-Pa55word" not in text and '"session_key": "***"' in text
    assert "s3cret-Pa55word" not in caplog.text and "connected with ***" in caplog.text


def test_masks_and_writing_into_the_source_wells(seeded):
    reader = OmeroPlateReader(seeded.url)
    result = process_well(reader, "A02")
    writer = OmeroResultWriter.from_url(seeded.url + "?target=wells", labels_as="masks")
    writer.write_well_result(result)
    assert writer.target_plate_id == seeded.plate.plate_id
    fresh = OmeroPlateReader(seeded.url)
    assert fresh.layout.sites == (1, 2, 3, 4, 5)  # the result is a fifth field of A02
    image_id = fresh.image_id(ImageKey("A02", 5))
    assert image_id == writer.images["A02"]
    rois = writer.conn.getRoiService().findByImage(image_id, None).rois
    labels = result.labels["nuclei"]
    masks = [r for r in rois if r.getName().getValue().startswith("nuclei ")]
    assert len(masks) == labels.max() > 0
    for roi in masks:
        mask = roi.copyShapes()[0]
        lab = int(roi.getName().getValue().split()[1])
        x, y = int(mask.getX().getValue()), int(mask.getY().getValue())
        w, h = int(mask.getWidth().getValue()), int(mask.getHeight().getValue())
        np.testing.assert_array_equal(unpack_mask(mask.getBytes(), w, h),
                                      labels[y : y + h, x : x + w] == lab)
    writer.close()


def test_bad_options_are_refused(seeded):
    with pytest.raises(ValueError, match="target"):
        OmeroResultWriter.from_url(seeded.url + "?target=elsewhere")
