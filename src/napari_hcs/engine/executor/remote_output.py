"""Outputs on object storage (`--out s3://bucket/results`, `gs://`, `az://`): what a run writes
there, and what stands in for the local folder's lock, manifest and resume (docs/outputs.md,
"Object storage").

- plate.zarr is written straight to the store by the same writer as a local one (workers write
  their wells' fields and tables; `vfs.location.RemoteFolder`). A field counts as complete
  once its group metadata, written after its arrays, names its multiscales; the plate lists
  only complete wells at the end, as locally.
- The run's bookkeeping (run.json after every well, the per-well table parts) lives in a local
  staging folder; at the end `tables/*.parquet`, `run.json` (and `intermediate.zarr` when
  steps materialize) are uploaded, and the staging folder goes.
- Object stores have no flock. The rule: a run refuses a prefix holding `.napari-hcs.lock`,
  writes one naming itself, and removes it at the end (on failure too). A run killed hard
  leaves it; the refusal names the holder, and deleting the object frees the prefix. The
  check and the write are two requests: two runs started within the same moment can both
  pass it; do not start two runs on one prefix at once.
- The manifest (`.napari-hcs-outputs.json`) works as locally: a run replaces only entries it
  listed there, and refuses a prefix holding ours-named entries it did not write.
- `--resume` is refused: run.json is not kept on the store while the run goes.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ..compiler.plan import WellPlan
from ..vfs.location import RemoteFolder, access_refused, open_folder
from .output_folder import MANIFEST, OWNED, OutputRefused
from .output_lock import LOCK_FILE, OutputBusy
from .outputs import INTERMEDIATE, PLATE, RUN_JSON, TABLES

#: What is uploaded from the staging folder at the end (besides plate.zarr, written in place).
_UPLOADED = (TABLES, INTERMEDIATE, RUN_JSON)


class RemoteOutput:
    """An object-store output prefix held by this run: its lock, a local staging folder."""

    def __init__(self, url: str, *, resume: bool, confined: bool) -> None:
        if resume:
            raise OutputRefused(f"--resume needs a local output folder; {url} is on object "
                                "storage, where run.json is written only when a run ends")
        if confined:
            raise OutputRefused(f"cannot write to {url}: this server confines runs to its "
                                "roots (--root), which are local folders")
        folder = open_folder(url)  # refuses a scheme we cannot write, before any work
        assert isinstance(folder, RemoteFolder)
        self.url, self.root = url.rstrip("/"), folder
        try:
            self._lock()  # the run's first request to the store
        except Exception as exc:
            refused = access_refused(url, exc)
            if refused is None:
                raise
            raise OutputRefused(str(refused)) from None
        try:
            self._claim()
        except BaseException:
            self.release()
            raise
        self.stage = Path(tempfile.mkdtemp(prefix="napari-hcs-stage-"))

    @property
    def plate_url(self) -> str:
        return f"{self.url}/{PLATE}"

    def bind(self, plans: Sequence[WellPlan]) -> list[WellPlan]:
        """The plans with the staging folder as output_dir and plate.zarr on the store."""
        bound = []
        for plan in plans:
            if plan.output is None:
                raise OutputRefused(f"well {plan.well}: no output plan to write to {self.url}")
            bound.append(replace(plan, output_dir=str(self.stage),
                                 output=replace(plan.output, plate_url=self.plate_url)))
        return bound

    def _lock(self) -> None:
        holder = self.root.read_json(LOCK_FILE)
        if holder is not None:
            raise OutputBusy(f"{self.url} is in use by another napari-hcs run ({holder}); "
                             f"object storage has no lock that dies with its process: if no "
                             f"run is writing there, delete {self.url}/{LOCK_FILE}")
        self.root.write_json(LOCK_FILE, {"pid": os.getpid(), "host": socket.gethostname(),
                                         "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        self._locked = True

    def _claim(self) -> None:
        listed = self.root.read_json(MANIFEST) or {}
        mine = set(listed.get("entries", [])) if isinstance(listed, dict) else set()
        for name in OWNED:
            if name not in mine and (self.root.has(name) or self.root.join(name).exists()):
                raise OutputRefused(f"{self.url}/{name} was not written by napari-hcs (it is "
                                    f"not listed in {self.url}/{MANIFEST}); choose an empty "
                                    "prefix, or move it away")
        self.root.write_json(MANIFEST, {"written_by": "napari-hcs", "entries": list(OWNED),
                                        "note": "napari-hcs replaces these entries of this "
                                                "prefix when a run starts here, and nothing "
                                                "else"})
        for name in (PLATE, TABLES, INTERMEDIATE):  # the previous run's outputs
            self.root.remove(name)
        if self.root.has(RUN_JSON):
            self.root.fs.rm(f"{self.root.path}/{RUN_JSON}")

    def finish(self) -> None:
        """Upload the staged tables, run.json and intermediates; the staging folder goes."""
        try:
            for name in _UPLOADED:
                local = self.stage / name
                files = [local] if local.is_file() else sorted(
                    p for p in local.rglob("*") if p.is_file()) if local.is_dir() else []
                for path in files:
                    self.root.put(path.relative_to(self.stage).as_posix(), path.read_bytes())
        finally:
            shutil.rmtree(self.stage, ignore_errors=True)
            self.release()

    def release(self) -> None:
        if getattr(self, "_locked", False):
            self._locked = False
            self.root.fs.rm(f"{self.root.path}/{LOCK_FILE}")

