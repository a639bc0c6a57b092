"""The same read -> process -> write path against a real OMERO server.

Runs only when OMERO_HOST, OMERO_USER and OMERO_PASSWORD are set (and omero-py is installed);
it creates a small plate, reads it back, writes results, and deletes everything it made.
"""

from __future__ import annotations

import io
import os

import numpy as np
import pandas as pd
import pytest
from seed import upload_plate
from test_writer import annotation_bytes, process_well

from napari_hcs.bridge.omero.binding import BINDING_ENV, load_binding
from napari_hcs.bridge.omero.credentials import OmeroCredentials, connect
from napari_hcs.bridge.omero.source import OmeroPlateReader
from napari_hcs.bridge.omero.writer import NS_TABLE, OmeroResultWriter
from napari_hcs.engine.plate.model import ImageKey

pytestmark = pytest.mark.skipif(
    not all(os.environ.get(v) for v in ("OMERO_HOST", "OMERO_USER", "OMERO_PASSWORD")),
    reason="needs a real OMERO server: set OMERO_HOST, OMERO_USER and OMERO_PASSWORD",
)


@pytest.fixture
def omero_conn(monkeypatch):
    monkeypatch.delenv(BINDING_ENV, raising=False)  # the real omero-py, not the stand-in
    pytest.importorskip("omero.gateway", reason="needs omero-py: pip install 'napari-hcs[omero]'")
    omero = load_binding()
    creds = OmeroCredentials.from_env()
    conn = connect(creds, omero)
    made: list[int] = []
    yield omero, conn, creds, made
    if made:
        conn.deleteObjects("Plate", made, deleteAnns=True, deleteChildren=True, wait=True)
    conn.close()


def test_real_server_round_trip(omero_conn):
    omero, conn, creds, made = omero_conn
    seeded = upload_plate(conn, omero, "napari-hcs test plate", wells=("A01",), grid=2)
    made.append(seeded.plate_id)
    url = f"omero://{creds.host}:{creds.port}/plate/{seeded.plate_id}"

    reader = OmeroPlateReader(url)
    assert reader.layout.wells == ("A01",) and reader.layout.sites == (1, 2, 3, 4)
    np.testing.assert_array_equal(reader.read(ImageKey("A01", 3, "2")),
                                  seeded.planes[("A01", 3)][1])

    writer = OmeroResultWriter.from_url(url)
    result = process_well(reader, "A01")
    writer.write_well_result(result)
    record = writer.write_run_record({"pipeline": "test"})
    writer.close()
    made.append(record["plate_id"])

    target = conn.getObject("Plate", record["plate_id"])
    (well,) = list(target.listChildren())
    image = well.getWellSample(0).getImage()
    np.testing.assert_array_equal(image.getPrimaryPixels().getPlane(0, 0, 0), result.image[0])
    rois = conn.getRoiService().findByImage(image.getId(), None).rois
    assert len(rois) == int(result.labels["nuclei"].max()) + 4
    tables = {a.getFileName(): a for a in target.listAnnotations(ns=NS_TABLE)}
    nuclei = pd.read_csv(io.BytesIO(annotation_bytes(tables["nuclei.csv"])))
    assert set(nuclei["well"]) == {"A01"}
