"""The execution server's configuration and its table of runs (`server.ExecutionServer`)."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engine.executor.limits import (
    DEFAULT_CANCEL_GRACE_S,
    DEFAULT_WELL_TIMEOUT_S,
    RunLimits,
    default_max_memory,
)

FINAL_STATES = ("ok", "failed", "cancelled", "error")


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 7447  # 0 picks a free port
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    roots: tuple[Path, ...] = (Path.cwd(),)
    #: Modules imported at start, so that documents may name the functions they register (the
    #: built-in library is always there). Chosen by whoever starts the server, never a client.
    allowed_modules: tuple[str, ...] = ()
    #: OMERO servers (`HOST:PORT`, or `HOST` for port 4064) that plates and outputs may name,
    #: exactly; none by default.
    omero_hosts: tuple[str, ...] = ()
    max_workers: int = 8  # worker processes one run may ask for
    max_runs: int = 4  # runs queued or running at once
    #: Hosts a submit's `stream_bind` may bind on; none: loopback only (submission.LOOPBACK).
    stream_bind_hosts: tuple[str, ...] = ()
    #: Memory per worker process in bytes, None for no limit, or "auto": 80% of the machine's
    #: memory shared by `max_runs` runs of the run's workers (engine.executor.limits).
    max_memory: int | str | None = "auto"
    well_timeout_s: float | None = DEFAULT_WELL_TIMEOUT_S
    cancel_grace_s: float = DEFAULT_CANCEL_GRACE_S

    def limits(self, workers: int) -> RunLimits:
        """The limits of a run on `workers` workers."""
        memory = self.max_memory
        if memory == "auto":
            memory = default_max_memory(workers * self.max_runs)
        return RunLimits.of(workers, memory, self.well_timeout_s, self.cancel_grace_s)


@dataclass
class Run:
    id: str
    plate: str
    out: str
    wells: list[str]
    status: str = "queued"  # queued | running | ok | failed | cancelled | error
    error: str | None = None
    submitted: float = field(default_factory=time.time)
    well_status: dict[str, str] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    subscribers: set[bytes] = field(default_factory=set)
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = field(default=None, repr=False)

    def summary(self) -> dict[str, Any]:
        return {"run": self.id, "status": self.status, "error": self.error, "plate": self.plate,
                "out": self.out, "wells": self.well_status, "events": len(self.events),
                "submitted": self.submitted}


def event_message(run_id: str, event: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "event", "run": run_id, "seq": event["seq"], "event": event}
