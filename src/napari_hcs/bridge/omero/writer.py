"""`OmeroResultWriter`: the OMERO output backend, fed one finished well at a time.

Per well (`write_well_result`, the executor's `on_result` callback, run in the parent process):
- the processed image `(C, Y, X)` becomes a new OMERO Image (`createImageFromNumpySeq`), linked
  as a WellSample into a well of the *target* plate: a new plate mirroring the source's wells
  (`target="new"`, the default: raw data stays untouched) or the source plate's own wells
  (`target="wells"`: the result becomes an extra field);
- each label image becomes one ROI per label on that image (polygon outlines, or masks with
  `labels_as="masks"`), each `rois` entry one polygon ROI per outline.
At the end (`write_run_record`): measurement tables (all wells, with a `well` column) as CSV or
Parquet file annotations on the target plate, and the run record (run.json, with secrets
redacted) as a JSON file annotation plus a key-value summary.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...engine.plate.model import PlateError
from ...engine.plate.wells import parse_well
from .address import parse_address
from .binding import load_binding
from .credentials import OmeroCredentials, connect, disconnect, env_secrets, log, redact
from .shapes import label_masks, label_polygons, polygon_points

NS = "napari-hcs"  # annotation namespace prefix: ns "napari-hcs/run", "napari-hcs/table", ...
NS_RUN, NS_TABLE = f"{NS}/run", f"{NS}/table"
TARGETS = ("new", "wells")
_ROI_BATCH = 500  # ROIs per saveAndReturnArray call: one round trip each, bounded message size
_MIMETYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}


class OmeroWriteError(RuntimeError):
    """Writing a result to OMERO failed; the message names the well and what was being written."""


class OmeroResultWriter:
    """Writes finished wells into OMERO, relative to the source plate `plate_id`."""

    def __init__(
        self,
        conn: Any,
        plate_id: int,
        *,
        target: str = "new",
        labels_as: str = "polygons",
        table_format: str = "csv",
        binding: Any = None,
        secrets: tuple[str, ...] = (),
    ) -> None:
        if target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
        if labels_as not in ("polygons", "masks"):
            raise ValueError(f"labels_as must be 'polygons' or 'masks', got {labels_as!r}")
        if table_format not in _MIMETYPES:
            raise ValueError(f"table_format must be one of {tuple(_MIMETYPES)}")
        self.conn, self.plate_id, self.target = conn, int(plate_id), target
        self.labels_as, self.table_format = labels_as, table_format
        self._omero = binding or load_binding()
        self._secrets = secrets
        source = conn.getObject("Plate", self.plate_id)
        if source is None:
            raise PlateError(f"OMERO plate {plate_id}: not found or not visible to this user")
        self._source_name = source.getName()
        self._source_wells = {(w.row, w.column): w.getId() for w in source.listChildren()}
        self.target_plate_id: int | None = self.plate_id if target == "wells" else None
        self._target_wells: dict[tuple[int, int], int] = {}
        self._tables: dict[str, list[pd.DataFrame]] = {}
        self.images: dict[str, int] = {}  # well -> id of the Image written for it
        self.statuses: dict[str, str] = {}
        self._on_close: Any = None

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> OmeroResultWriter:
        """Connect from the environment to `omero://host:port/plate/ID[?target=new|wells]`."""
        address = parse_address(url)
        kwargs.setdefault("target", address.options.get("target", "new"))
        if kwargs["target"] not in TARGETS:  # refuse before logging in, not after
            raise ValueError(f"{address.url}: target must be one of {TARGETS}")
        creds = OmeroCredentials.from_env(address)
        binding = kwargs.pop("binding", None) or load_binding()
        writer = cls(connect(creds, binding), address.id, binding=binding,
                     secrets=creds.secrets, **kwargs)
        writer._on_close = lambda: disconnect(writer.conn, creds)
        return writer

    def close(self) -> None:
        """Close the connection if `from_url` opened it."""
        if self._on_close is not None:
            self._on_close()
            self._on_close = None

    # -- per well -------------------------------------------------------------------------

    def write_well_result(self, result: Any) -> None:
        """Write one finished well (an executor `WellResult`); failed wells are only recorded."""
        self.statuses[result.well] = result.status
        for name, table in (result.tables or {}).items():
            self._add_table(name, table, result.well)
        if result.positions is not None:
            self._add_table("positions", result.positions, result.well)
        if result.status != "ok" or result.image is None:
            return
        try:
            image_id = self._write_image(result)
            self._link_to_well(result.well, image_id)
            for name, labels in (result.labels or {}).items():
                self._write_labels(image_id, name, labels)
            for name, outlines in (result.rois or {}).items():
                self._save_rois(image_id, self._polygon_rois(image_id, name, outlines))
        except Exception as exc:
            raise OmeroWriteError(f"well {result.well}: writing to OMERO failed: {exc}") from exc
        self.images[result.well] = image_id
        log.info("well %s -> OMERO image %d", result.well, image_id)

    def _write_image(self, result: Any) -> int:
        stack = np.asarray(result.image)
        if stack.ndim == 2:
            stack = stack[np.newaxis]
        stack = _omero_dtype(stack)
        planes = iter(list(stack))  # createImageFromNumpySeq order: Z, then C, then T
        image = self.conn.createImageFromNumpySeq(
            planes, f"{self._source_name} {result.well}", sizeZ=1, sizeC=stack.shape[0],
            sizeT=1, description=f"napari-hcs result of plate {self.plate_id}, well {result.well}",
        )
        names = list(result.channel_names or [])
        if names:
            self.conn.setChannelNames(
                "Image", [image.getId()], {i + 1: str(n) for i, n in enumerate(names)}
            )
        return image.getId()

    def _link_to_well(self, well: str, image_id: int) -> None:
        m, rt = self._omero.model, self._omero.rtypes
        row, column = parse_well(well)
        sample = m.WellSampleI()
        sample.setImage(m.ImageI(image_id, False))
        update = self.conn.getUpdateService()
        if self.target == "wells":
            well_id = self._source_wells.get((row, column))
            if well_id is None:
                raise PlateError(f"plate {self.plate_id} has no well {well}")
            # Load the well with its samples: a WellSample is an indexed child of its Well.
            well_obj = self.conn.getObject("Well", well_id, opts={"load_images": True})._obj
            well_obj.addWellSample(sample)
            update.saveAndReturnObject(well_obj)
            return
        plate_id = self._ensure_target_plate()
        well_obj = m.WellI()
        well_obj.setPlate(m.PlateI(plate_id, False))
        well_obj.setRow(rt.rint(row))
        well_obj.setColumn(rt.rint(column))
        well_obj.addWellSample(sample)
        saved = update.saveAndReturnObject(well_obj)
        self._target_wells[(row, column)] = saved.getId().getValue()

    def _ensure_target_plate(self) -> int:
        if self.target_plate_id is None:
            plate = self._omero.model.PlateI()
            plate.setName(self._omero.rtypes.rstring(f"{self._source_name} (napari-hcs)"))
            saved = self.conn.getUpdateService().saveAndReturnObject(plate)
            self.target_plate_id = saved.getId().getValue()
            log.info("created OMERO plate %d for results of plate %d", self.target_plate_id,
                     self.plate_id)
        return self.target_plate_id

    def _write_labels(self, image_id: int, name: str, labels: np.ndarray) -> None:
        labels = np.asarray(labels)
        planes = labels if labels.ndim == 3 else labels[np.newaxis]
        m, rt = self._omero.model, self._omero.rtypes
        rois = []
        for z, plane in enumerate(planes):
            if self.labels_as == "masks":
                for mask in label_masks(plane):
                    shape = m.MaskI()
                    shape.setX(rt.rdouble(mask.x))
                    shape.setY(rt.rdouble(mask.y))
                    shape.setWidth(rt.rdouble(mask.width))
                    shape.setHeight(rt.rdouble(mask.height))
                    shape.setBytes(mask.bits)
                    rois.append(self._roi(image_id, f"{name} {mask.label}", shape, z))
            else:
                for label, outline in label_polygons(plane):
                    shape = m.PolygonI()
                    shape.setPoints(rt.rstring(polygon_points(outline)))
                    rois.append(self._roi(image_id, f"{name} {label}", shape, z))
        self._save_rois(image_id, rois)

    def _polygon_rois(self, image_id: int, name: str, outlines: list) -> list:
        """Entries are (K, 2) y/x arrays, or dicts {"polygon", "label", "plane"} (segmentation)."""
        rois = []
        for i, entry in enumerate(outlines, start=1):
            if isinstance(entry, dict):
                outline, label, z = entry["polygon"], entry.get("label", i), entry.get("plane", 0)
            else:
                outline, label, z = entry, i, 0
            shape = self._omero.model.PolygonI()
            shape.setPoints(self._omero.rtypes.rstring(polygon_points(outline)))
            rois.append(self._roi(image_id, f"{name} {label}", shape, int(z)))
        return rois

    def _roi(self, image_id: int, name: str, shape: Any, z: int) -> Any:
        m, rt = self._omero.model, self._omero.rtypes
        shape.setTheZ(rt.rint(z))
        shape.setTheT(rt.rint(0))
        shape.setTextValue(rt.rstring(name))
        roi = m.RoiI()
        roi.setName(rt.rstring(name))
        roi.setImage(m.ImageI(image_id, False))
        roi.addShape(shape)
        return roi

    def _save_rois(self, image_id: int, rois: list) -> None:
        update = self.conn.getUpdateService()
        for start in range(0, len(rois), _ROI_BATCH):
            update.saveAndReturnArray(rois[start : start + _ROI_BATCH])

    def _add_table(self, name: str, table: Any, well: str) -> None:
        frame = pd.DataFrame(table).copy()
        if "well" not in frame.columns:
            frame.insert(0, "well", well)
        self._tables.setdefault(name, []).append(frame)

    # -- end of run -----------------------------------------------------------------------

    def write_tables(self) -> dict[str, int]:
        """Attach each collected table to the target plate; returns name -> annotation id."""
        plate = self.conn.getObject("Plate", self._ensure_target_plate())
        written = {}
        with tempfile.TemporaryDirectory(prefix="napari-hcs-omero-") as tmp:
            for name, frames in sorted(self._tables.items()):
                path = Path(tmp) / f"{name}.{self.table_format}"
                table = pd.concat(frames, ignore_index=True)
                if self.table_format == "csv":
                    table.to_csv(path, index=False)
                else:
                    table.to_parquet(path, index=False)
                written[name] = self._attach(plate, path, NS_TABLE, f"napari-hcs table {name}")
        self._tables.clear()
        return written

    def write_run_record(self, run_json: dict) -> dict[str, Any]:
        """Write tables, then the run record (redacted) and a summary, onto the target plate."""
        tables = self.write_tables()
        plate = self.conn.getObject("Plate", self._ensure_target_plate())
        secrets = self._secrets + env_secrets()
        record = redact(run_json, secrets)
        with tempfile.TemporaryDirectory(prefix="napari-hcs-omero-") as tmp:
            path = Path(tmp) / "run.json"
            path.write_text(json.dumps(record, indent=2, default=str))
            run_ann = self._attach(plate, path, NS_RUN, "napari-hcs run record")
        summary = self._omero.MapAnnotationWrapper(self.conn)
        summary.setNs(NS_RUN)
        summary.setValue(self._summary_pairs())
        summary.save()
        plate.linkAnnotation(summary)
        return {"plate_id": self.target_plate_id, "images": dict(self.images),
                "tables": tables, "run_annotation": run_ann, "summary_annotation": summary.getId()}

    def _summary_pairs(self) -> list[list[str]]:
        failed = sorted(w for w, s in self.statuses.items() if s != "ok")
        return [
            ["source_plate", str(self.plate_id)],
            ["wells_ok", str(len(self.statuses) - len(failed))],
            ["wells_failed", ",".join(failed) or "-"],
        ]

    def _attach(self, plate: Any, path: Path, ns: str, desc: str) -> int:
        mimetype = "application/json" if path.suffix == ".json" else _MIMETYPES[self.table_format]
        ann = self.conn.createFileAnnfromLocalFile(str(path), mimetype=mimetype, ns=ns, desc=desc)
        plate.linkAnnotation(ann)
        return ann.getId()


def _omero_dtype(stack: np.ndarray) -> np.ndarray:
    """Cast to a pixel type OMERO has (no bool, int64, uint64, float16)."""
    kind, size = stack.dtype.kind, stack.dtype.itemsize
    if kind == "b":
        return stack.astype(np.uint8)
    if kind in "iu" and size == 8:
        info = np.iinfo(np.int32 if kind == "i" else np.uint32)
        if stack.size and (stack.min() < info.min or stack.max() > info.max):
            return stack.astype(np.float64)
        return stack.astype(info.dtype)
    if kind == "f" and size == 2:
        return stack.astype(np.float32)
    return stack
