"""run.json: what ran and how each well ended, written atomically at the start, after every
well and at the end (docs/outputs.md).

A resumed run keeps the `ok` wells of the run it continues and lists, under `runs`, every
earlier run of the folder (oldest first). Runs are numbered from 1 (`run`), and each well entry
names the run that produced it (`run`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..plate.wells import sort_wells
from ..vfs import atomic_write_json
from ..vfs.safe_files import read_entry
from .outputs import RUN_JSON, versions

#: A run.json of 3456 wells with long error lines stays far below this.
MAX_RECORD_BYTES = 64 << 20
#: What `runs` keeps of each earlier run.
_HISTORY_KEYS = ("run", "started", "finished", "status", "options", "versions", "timings")


def load_previous(out: Path) -> dict[str, Any]:
    """The run.json in `out` ({} when there is none); OSError when it cannot be read."""
    path = out / RUN_JSON
    try:  # never through a link planted in the folder, and bounded
        text = read_entry(out, RUN_JSON, MAX_RECORD_BYTES)
        if text is None:
            return {}
        data = json.loads(text)
    except (OSError, ValueError) as exc:
        raise OSError(f"cannot resume: {path} is unreadable ({exc}); "
                      "run without --resume") from exc
    if not isinstance(data, dict):
        raise OSError(f"cannot resume: {path} is not a napari-hcs run record; "
                      "run without --resume")
    return data


class RunRecord:
    """run.json of the current run; `previous` is the run it resumes ({} for a fresh run)."""

    def __init__(self, out: Path, *, previous: Mapping[str, Any], info: Mapping[str, Any],
                 fingerprint: Mapping[str, Any]) -> None:
        self.path = out / RUN_JSON
        wells = previous.get("wells") if isinstance(previous.get("wells"), dict) else {}
        kept = {w: e for w, e in wells.items() if isinstance(e, dict) and e.get("status") == "ok"}
        history = [*previous.get("runs", []), {k: previous.get(k) for k in _HISTORY_KEYS}] \
            if previous else []
        self.number = len(history) + 1
        self.start = time.time()
        self.unsaved: str | None = None  # why the latest save failed (a full disk), if it did
        started = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.start))
        self.data: dict[str, Any] = {
            "run": self.number,
            "status": "running",
            "started": started,
            "finished": None,
            **info,
            "fingerprint": _merged(previous.get("fingerprint"), fingerprint),
            "versions": versions(),
            "timings": {"seconds": 0.0, "wells_seconds": 0.0},
            "runs": history,
            "wells": kept,
            "not_run": [],
        }
        self.save(strict=True)

    def ok_wells(self) -> set[str]:
        return {w for w, e in self.data["wells"].items() if e.get("status") == "ok"}

    def record(self, well: str, entry: Mapping[str, Any]) -> None:
        self.data["wells"][well] = {**entry, "run": self.number}
        self.data["wells"] = {w: self.data["wells"][w] for w in sort_wells(self.data["wells"])}
        self.data["timings"]["wells_seconds"] = round(
            sum(e.get("seconds", 0.0) for e in self.data["wells"].values()), 3)
        self.save()

    def finish(self, status: str, tables: Mapping[str, Path], not_run: Iterable[str] = ()) -> None:
        self.data["status"] = status
        self.data["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        self.data["timings"]["seconds"] = round(time.time() - self.start, 3)
        self.data["tables"] = {n: str(p) for n, p in sorted(tables.items())}
        self.data["not_run"] = list(sort_wells(not_run))
        self.save()

    def save(self, strict: bool = False) -> None:
        # A failed update (disk full) must not stop the run: the previous run.json stays
        # complete, and --resume merely redoes the wells it does not list as ok.
        try:
            atomic_write_json(self.path, self.data)
            self.unsaved = None
        except OSError as exc:
            if strict:
                raise
            self.unsaved = f"{self.path}: {exc}"


def _merged(before: Any, now: Mapping[str, Any]) -> dict[str, Any]:
    """The current fingerprint, keeping the input digests of earlier runs' wells that this
    run does not run (their results stay, so a later --resume still compares them)."""
    merged = dict(now)
    if isinstance(before, Mapping) and isinstance(before.get("inputs"), Mapping):
        merged["inputs"] = {**before["inputs"], **now.get("inputs", {})}
    return merged
