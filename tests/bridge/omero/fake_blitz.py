"""A file-backed stand-in for omero-py's BlitzGateway, used as an OMERO binding in tests.

No OMERO server can run on the test machine (omero-py needs zeroc-ice, which has no wheel for
this Python and does not build here), so this module mirrors omero-py's API surface: exactly
the BlitzGateway methods, wrapper methods (`PlateWrapper`, `WellWrapper`, `WellSampleWrapper`,
`ImageWrapper`, `PixelsWrapper`, `FileAnnotationWrapper`, `MapAnnotationWrapper`) and model
classes (`omero.model.PlateI`, `WellI`, `WellSampleI`, `ImageI`, `RoiI`, `PolygonI`, `MaskI`,
`LengthI`, `omero.rtypes.rint/rlong/rdouble/rstring`) that napari-hcs and its tests call, with
omero-py's names, argument conventions and return types, and nothing else: a call napari-hcs
makes that this module lacks fails here just as a misspelt call would fail against omero-py.

State lives in files under `$NAPARI_HCS_FAKE_OMERO_DIR` (`db.json` plus one `.npy` per image),
so worker processes spawned during a run, which load this module through
`NAPARI_HCS_OMERO_GATEWAY=<this file>`, talk to the same "server". `FakeOmeroServer` is the
test-side administration (create users); it is not part of the mirrored API.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

DIR_ENV = "NAPARI_HCS_FAKE_OMERO_DIR"
_OBJECT_TYPES = ("Plate", "Well", "WellSample", "Image", "Roi", "Annotation")

# -- omero.rtypes ------------------------------------------------------------------------


class _RType:
    def __init__(self, val: Any) -> None:
        self.val = val

    def getValue(self) -> Any:  # noqa: N802 - omero-py's spelling
        return self.val


def rint(v: Any) -> _RType:
    return _RType(int(v))


def rlong(v: Any) -> _RType:
    return _RType(int(v))


def rdouble(v: Any) -> _RType:
    return _RType(float(v))


def rstring(v: Any) -> _RType:
    return _RType(str(v))


rtypes = SimpleNamespace(rint=rint, rlong=rlong, rdouble=rdouble, rstring=rstring)

# -- omero.model -------------------------------------------------------------------------


class _Unit:
    def __init__(self, name: str, symbol: str) -> None:
        self.name, self.symbol = name, symbol

    def __str__(self) -> str:
        return self.name


class UnitsLength:
    """`omero.model.enums.UnitsLength` (the members napari-hcs uses)."""

    REFERENCEFRAME = _Unit("REFERENCEFRAME", "reference frame")
    PIXEL = _Unit("PIXEL", "pixel")
    MICROMETER = _Unit("MICROMETER", "µm")
    NANOMETER = _Unit("NANOMETER", "nm")


class LengthI:
    def __init__(self, value: float, unit: _Unit) -> None:
        self._value, self._unit = float(value), unit

    def getValue(self) -> float:  # noqa: N802
        return self._value

    def getUnit(self) -> _Unit:  # noqa: N802
        return self._unit

    def getSymbol(self) -> str:  # noqa: N802
        return self._unit.symbol


class _ModelObject:
    """An `omero.model.*I`: `setX`/`getX` for the declared fields, `addY`/`copyYs` for lists."""

    _FIELDS: tuple[str, ...] = ()
    _LIST: tuple[str, str] | None = None  # (add method suffix, copy method suffix)

    def __init__(self, id: Any = None, loaded: bool = True) -> None:  # noqa: A002
        self._id = rlong(id) if id is not None else None
        self._loaded = loaded
        self._values: dict[str, Any] = {}
        self._children: list[Any] = []

    def getId(self) -> _RType | None:  # noqa: N802
        return self._id

    @property
    def id(self) -> _RType | None:  # noqa: A003
        return self._id

    def isLoaded(self) -> bool:  # noqa: N802
        return self._loaded

    def __getattr__(self, name: str) -> Any:
        prefix, field = name[:3], name[3:4].lower() + name[4:]
        if prefix in ("set", "get") and field in self._FIELDS:
            if not self._loaded:
                raise RuntimeError(f"{type(self).__name__} {self._id.val} is unloaded")
            if prefix == "set":
                return lambda value: self._values.__setitem__(field, value)
            return lambda: self._values.get(field)
        if self._LIST and name == "add" + self._LIST[0]:
            return self._children.append
        if self._LIST and name == "copy" + self._LIST[1]:
            return lambda: list(self._children)
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")


class PlateI(_ModelObject):
    _FIELDS = ("name",)


class WellI(_ModelObject):
    _FIELDS = ("plate", "row", "column")
    _LIST = ("WellSample", "WellSamples")


class WellSampleI(_ModelObject):
    _FIELDS = ("image", "well", "posX", "posY")


class ImageI(_ModelObject):
    _FIELDS = ("name",)


class RoiI(_ModelObject):
    _FIELDS = ("name", "image")
    _LIST = ("Shape", "Shapes")


class PolygonI(_ModelObject):
    _FIELDS = ("points", "theZ", "theT", "textValue")


class MaskI(_ModelObject):
    _FIELDS = ("x", "y", "width", "height", "bytes", "theZ", "theT", "textValue")


model = SimpleNamespace(
    PlateI=PlateI, WellI=WellI, WellSampleI=WellSampleI, ImageI=ImageI, RoiI=RoiI,
    PolygonI=PolygonI, MaskI=MaskI, LengthI=LengthI,
)

# -- the "server": files on disk ---------------------------------------------------------


class FakeOmeroServer:
    """Test administration of the stand-in's state directory (not part of omero-py's API)."""

    def __init__(self, root: str | Path, host: str = "omero.test", port: int = 4064) -> None:
        self.root = Path(root)
        self.host, self.port = host, port

    @classmethod
    def from_env(cls) -> FakeOmeroServer:
        root = os.environ.get(DIR_ENV)
        if not root:
            raise RuntimeError(f"the fake OMERO server needs {DIR_ENV} set")
        db = json.loads((Path(root) / "db.json").read_text())
        return cls(root, db["host"], db["port"])

    def create(self, users: dict[str, str]) -> FakeOmeroServer:
        if self.root.exists():
            shutil.rmtree(self.root)
        (self.root / "pixels").mkdir(parents=True)
        (self.root / "files").mkdir()
        db = {"host": self.host, "port": self.port, "next_id": 1, "users": users,
              "sessions": {}, "links": {}, **{t: {} for t in _OBJECT_TYPES}}
        self._write(db)
        return self

    def read(self) -> dict:
        return json.loads((self.root / "db.json").read_text())

    def _write(self, db: dict) -> None:
        tmp = self.root / f"db.json.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(db))
        os.replace(tmp, self.root / "db.json")  # readers never see half a file

    @contextmanager
    def transaction(self) -> Iterator[dict]:
        with open(self.root / "lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            db = self.read()
            yield db
            self._write(db)

    @staticmethod
    def new_id(db: dict) -> int:
        db["next_id"] += 1
        return db["next_id"] - 1


def _server() -> FakeOmeroServer:
    return FakeOmeroServer.from_env()


# -- wrappers (omero.gateway) ------------------------------------------------------------


class _Wrapper:
    TYPE = ""

    def __init__(self, conn: BlitzGateway, oid: int) -> None:
        self._conn, self._oid = conn, int(oid)

    @property
    def _row(self) -> dict:
        return self._conn._db()[self.TYPE][str(self._oid)]

    def getId(self) -> int:  # noqa: N802
        return self._oid

    def getName(self) -> str | None:  # noqa: N802
        return self._row.get("name")

    def linkAnnotation(self, ann: Any, sameOwner: bool = False) -> Any:  # noqa: N802, N803
        with self._conn._server.transaction() as db:
            db["links"].setdefault(f"{self.TYPE}:{self._oid}", []).append(ann.getId())
        return ann

    def listAnnotations(self, ns: str | None = None) -> Iterator[Any]:  # noqa: N802
        db = self._conn._db()
        for ann_id in db["links"].get(f"{self.TYPE}:{self._oid}", []):
            row = db["Annotation"][str(ann_id)]
            if ns is None or row["ns"] == ns:
                cls = FileAnnotationWrapper if row["type"] == "File" else MapAnnotationWrapper
                yield cls(self._conn, ann_id)


class PlateWrapper(_Wrapper):
    TYPE = "Plate"

    def listChildren(self) -> Iterator[WellWrapper]:  # noqa: N802
        wells = self._conn._db()["Well"]
        for wid in sorted(wells, key=int):
            if wells[wid]["plate"] == self._oid:
                yield WellWrapper(self._conn, int(wid))


class WellWrapper(_Wrapper):
    TYPE = "Well"

    @property
    def row(self) -> int:
        return self._row["row"]

    @property
    def column(self) -> int:
        return self._row["column"]

    def countWellSample(self) -> int:  # noqa: N802
        return len(self._row["samples"])

    def getWellSample(self, index: int | None = None) -> WellSampleWrapper | None:  # noqa: N802
        samples = self._row["samples"]
        index = 0 if index is None else int(index)
        return WellSampleWrapper(self._conn, samples[index]) if index < len(samples) else None

    def listChildren(self) -> Iterator[WellSampleWrapper]:  # noqa: N802
        for sid in self._row["samples"]:
            yield WellSampleWrapper(self._conn, sid)

    @property
    def _obj(self) -> WellI:
        well = WellI(self._oid)
        for sid in self._row["samples"]:
            well.addWellSample(WellSampleI(sid, False))
        return well


class WellSampleWrapper(_Wrapper):
    TYPE = "WellSample"

    def getImage(self) -> ImageWrapper:  # noqa: N802
        return ImageWrapper(self._conn, self._row["image"])

    def _length(self, axis: str) -> LengthI | None:
        value = self._row.get(axis)
        return None if value is None else LengthI(value[0], getattr(UnitsLength, value[1]))

    def getPosX(self) -> LengthI | None:  # noqa: N802
        return self._length("posX")

    def getPosY(self) -> LengthI | None:  # noqa: N802
        return self._length("posY")


class PixelsWrapper:
    def __init__(self, conn: BlitzGateway, image_id: int) -> None:
        self._conn, self._image_id = conn, image_id

    def getPlane(self, theZ: int = 0, theC: int = 0, theT: int = 0) -> np.ndarray:  # noqa: N802,N803
        self._conn._check()
        data = np.load(self._conn._server.root / "pixels" / f"{self._image_id}.npy", mmap_mode="r")
        return np.array(data[theZ, theC, theT])  # stored (Z, C, T, Y, X)


class ImageWrapper(_Wrapper):
    TYPE = "Image"

    def _size(self, axis: str) -> int:
        return int(self._row["size"][axis])

    def getSizeX(self) -> int:  # noqa: N802
        return self._size("X")

    def getSizeY(self) -> int:  # noqa: N802
        return self._size("Y")

    def getSizeZ(self) -> int:  # noqa: N802
        return self._size("Z")

    def getSizeC(self) -> int:  # noqa: N802
        return self._size("C")

    def getSizeT(self) -> int:  # noqa: N802
        return self._size("T")

    def getChannelLabels(self) -> list[str]:  # noqa: N802
        return list(self._row["channels"])

    def getPixelSizeX(self, units: Any = None) -> float | None:  # noqa: N802
        return self._row.get("pixel_size")

    def getPixelsType(self) -> str:  # noqa: N802
        return self._row["pixels_type"]

    def getPrimaryPixels(self) -> PixelsWrapper:  # noqa: N802
        return PixelsWrapper(self._conn, self._oid)


class FileAnnotationWrapper(_Wrapper):
    TYPE = "Annotation"

    def getNs(self) -> str | None:  # noqa: N802
        return self._row["ns"]

    def getFileName(self) -> str:  # noqa: N802
        return self._row["file"]

    def getFileInChunks(self, buf: int = 2621440) -> Iterator[bytes]:  # noqa: N802
        data = (self._conn._server.root / "files" / str(self._oid) / self._row["file"]).read_bytes()
        for start in range(0, len(data), buf):
            yield data[start : start + buf]


class MapAnnotationWrapper(_Wrapper):
    TYPE = "Annotation"

    def __init__(self, conn: BlitzGateway | None = None, oid: int | None = None) -> None:
        self._conn, self._oid = conn, oid
        self._pending: dict[str, Any] = {"type": "Map", "ns": None, "value": []}

    def setNs(self, ns: str) -> None:  # noqa: N802
        self._pending["ns"] = ns

    def setValue(self, pairs: list) -> None:  # noqa: N802
        self._pending["value"] = [[str(k), str(v)] for k, v in pairs]

    def save(self) -> None:
        self._conn._check()
        with self._conn._server.transaction() as db:
            if self._oid is None:
                self._oid = FakeOmeroServer.new_id(db)
            db["Annotation"][str(self._oid)] = dict(self._pending)

    def getNs(self) -> str | None:  # noqa: N802
        return self._row["ns"]

    def getValue(self) -> list[tuple[str, str]]:  # noqa: N802
        return [tuple(p) for p in self._row["value"]]



# -- BlitzGateway and its services -------------------------------------------------------

_WRAPPERS = {"Plate": PlateWrapper, "Well": WellWrapper, "Image": ImageWrapper}
_PIXEL_TYPES = {"float32": "float", "float64": "double"}


class _Client:
    """`conn.c`, the omero.client: only the session id is used."""

    def __init__(self, conn: BlitzGateway) -> None:
        self._conn = conn

    def getSessionId(self) -> str | None:  # noqa: N802
        return self._conn._session


class _UpdateService:
    def __init__(self, conn: BlitzGateway) -> None:
        self._conn = conn

    def saveAndReturnObject(self, obj: Any) -> Any:  # noqa: N802
        self._conn._check()
        with self._conn._server.transaction() as db:
            return self._save(db, obj)

    def saveAndReturnArray(self, objs: list) -> list:  # noqa: N802
        self._conn._check()
        with self._conn._server.transaction() as db:
            return [self._save(db, o) for o in objs]

    def _save(self, db: dict, obj: Any) -> Any:
        if isinstance(obj, PlateI) and obj.getId() is None:
            oid = FakeOmeroServer.new_id(db)
            db["Plate"][str(oid)] = {"name": obj.getName().val}
            return PlateI(oid)
        if isinstance(obj, WellI):
            return self._save_well(db, obj)
        if isinstance(obj, RoiI) and obj.getId() is None:
            oid = FakeOmeroServer.new_id(db)
            image_id = obj.getImage().getId().val
            if str(image_id) not in db["Image"]:
                raise ValueError(f"ROI on missing image {image_id}")
            db["Roi"][str(oid)] = {"name": _val(obj.getName()), "image": image_id,
                                   "shapes": [_shape_row(s) for s in obj.copyShapes()]}
            return RoiI(oid)
        raise TypeError(f"the stand-in cannot save {type(obj).__name__} this way")

    def _save_well(self, db: dict, well: WellI) -> WellI:
        if well.getId() is None:
            oid = FakeOmeroServer.new_id(db)
            row = {"plate": well.getPlate().getId().val, "row": well.getRow().val,
                   "column": well.getColumn().val, "samples": []}
            if str(row["plate"]) not in db["Plate"]:
                raise ValueError(f"well on missing plate {row['plate']}")
            db["Well"][str(oid)] = row
        else:
            oid = well.getId().val
            row = db["Well"][str(oid)]
        for sample in well.copyWellSamples():
            if sample.getId() is not None:
                continue  # already stored
            sid = FakeOmeroServer.new_id(db)
            pos = {a: (lambda v: None if v is None else [v.getValue(), v.getUnit().name])(
                getattr(sample, f"get{a[0].upper()}{a[1:]}")()) for a in ("posX", "posY")}
            db["WellSample"][str(sid)] = {"image": sample.getImage().getId().val,
                                          "well": oid, **pos}
            row["samples"].append(sid)
        return WellI(oid)


def _val(rtype: Any) -> Any:
    return None if rtype is None else rtype.val


def _shape_row(shape: Any) -> dict:
    common = {"theZ": _val(shape.getTheZ()), "theT": _val(shape.getTheT()),
              "textValue": _val(shape.getTextValue())}
    if isinstance(shape, PolygonI):
        return {"type": "Polygon", "points": shape.getPoints().val, **common}
    if isinstance(shape, MaskI):
        return {"type": "Mask", "x": shape.getX().val, "y": shape.getY().val,
                "width": shape.getWidth().val, "height": shape.getHeight().val,
                "bytes": base64.b64encode(shape.getBytes()).decode(), **common}
    raise TypeError(f"the stand-in has no shape {type(shape).__name__}")


class _RoiService:
    def __init__(self, conn: BlitzGateway) -> None:
        self._conn = conn

    def findByImage(self, imageId: int, opts: Any) -> SimpleNamespace:  # noqa: N802, N803
        """Returns a RoiResult-like object; its `.rois` are RoiI with shapes re-hydrated."""
        rois = []
        for rid, row in sorted(self._conn._db()["Roi"].items(), key=lambda kv: int(kv[0])):
            if row["image"] != imageId:
                continue
            roi = RoiI(int(rid))
            roi.setName(rstring(row["name"]))
            for s in row["shapes"]:
                shape = PolygonI() if s["type"] == "Polygon" else MaskI()
                for key, value in s.items():
                    if key == "bytes":
                        shape.setBytes(base64.b64decode(value))
                    elif key != "type":
                        setter = getattr(shape, f"set{key[0].upper()}{key[1:]}")
                        setter(rstring(value) if isinstance(value, str) else _RType(value))
                roi.addShape(shape)
            rois.append(roi)
        return SimpleNamespace(rois=rois)


class BlitzGateway:
    """`omero.gateway.BlitzGateway`: login by user/password or by joining a session key."""

    def __init__(self, username: str | None = None, passwd: str | None = None,
                 client_obj: Any = None, group: Any = None, clone: bool = False,
                 try_super: bool = False, host: str | None = None, port: int | None = None,
                 extra_config: Any = None, secure: bool = False, anonymous: bool = True,
                 useragent: str | None = None, userip: str | None = None) -> None:
        self._username, self._passwd = username, passwd
        self._host, self._port, self.secure = host, port, secure
        self._session: str | None = None
        self._server = _server()  # like a client's socket: fixed when the gateway is made
        self.c = _Client(self)

    def connect(self, sUuid: str | None = None) -> bool:  # noqa: N803
        server = self._server
        with server.transaction() as db:
            if (self._host, int(self._port or 4064)) != (db["host"], db["port"]):
                return False  # nothing listens there
            if sUuid is not None:
                if sUuid not in db["sessions"]:
                    return False
                self._session = sUuid
            else:
                if not self._username or db["users"].get(self._username) != self._passwd:
                    return False
                self._session = str(uuid.uuid4())
                db["sessions"][self._session] = self._username
        return True

    def isConnected(self) -> bool:  # noqa: N802
        return self._session is not None and self._session in self._server.read()["sessions"]

    def close(self, hard: bool = True) -> None:
        if self._session is not None and hard and (self._server.root / "db.json").exists():
            with self._server.transaction() as db:
                db["sessions"].pop(self._session, None)
        self._session = None

    def _check(self) -> None:
        if not self.isConnected():
            raise RuntimeError("not connected (session closed or expired)")

    def _db(self) -> dict:
        self._check()
        return self._server.read()

    def getObject(self, obj_type: str, oid: int | None = None, params: Any = None,  # noqa: N802
                  attributes: Any = None, opts: dict | None = None) -> Any:
        if str(oid) not in self._db()[obj_type]:
            return None
        return _WRAPPERS[obj_type](self, int(oid))

    def getUpdateService(self) -> _UpdateService:  # noqa: N802
        return _UpdateService(self)

    def getRoiService(self) -> _RoiService:  # noqa: N802
        return _RoiService(self)

    def createImageFromNumpySeq(self, zctPlanes: Iterator[np.ndarray], imageName: str,  # noqa: N802, N803
                                sizeZ: int = 1, sizeC: int = 1, sizeT: int = 1,  # noqa: N803
                                description: str | None = None, dataset: Any = None,
                                sourceImageId: int | None = None,  # noqa: N803
                                channelList: list | None = None) -> ImageWrapper:  # noqa: N803
        self._check()
        planes = [next(zctPlanes) for _ in range(sizeZ * sizeC * sizeT)]  # Z, then C, then T
        first = planes[0]
        data = np.stack(planes).reshape(sizeZ, sizeC, sizeT, *first.shape)
        server = self._server
        with server.transaction() as db:
            oid = FakeOmeroServer.new_id(db)
            np.save(server.root / "pixels" / f"{oid}.npy", data)
            db["Image"][str(oid)] = {
                "name": imageName, "description": description, "pixel_size": None,
                "pixels_type": _PIXEL_TYPES.get(first.dtype.name, first.dtype.name),
                "channels": [str(c) for c in range(sizeC)],
                "size": {"X": first.shape[1], "Y": first.shape[0], "Z": sizeZ, "C": sizeC,
                         "T": sizeT},
            }
        return ImageWrapper(self, oid)

    def setChannelNames(self, data_type: str, ids: list, nameDict: dict,  # noqa: N802, N803
                        channelCount: int | None = None) -> dict:  # noqa: N803
        if data_type != "Image":
            raise AttributeError("the stand-in supports setChannelNames('Image', ...) only")
        self._check()
        with self._server.transaction() as db:
            for image_id in ids:
                channels = db["Image"][str(image_id)]["channels"]
                for index, name in nameDict.items():
                    channels[int(index) - 1] = name  # 1-based, as in omero-py
        return {"imageCount": len(ids), "updateCount": len(ids)}

    def createFileAnnfromLocalFile(self, localPath: str, origFilePathAndName: str | None = None,  # noqa: N802, N803, E501
                                   mimetype: str | None = None, ns: str | None = None,
                                   desc: str | None = None) -> FileAnnotationWrapper:
        self._check()
        server = self._server
        name = Path(origFilePathAndName or localPath).name
        with server.transaction() as db:
            oid = FakeOmeroServer.new_id(db)
            folder = server.root / "files" / str(oid)
            folder.mkdir(parents=True)
            shutil.copyfile(localPath, folder / name)
            db["Annotation"][str(oid)] = {"type": "File", "ns": ns, "desc": desc, "file": name,
                                          "mimetype": mimetype}
        return FileAnnotationWrapper(self, oid)
