"""Work for a panel run in threads, each result delivered on the GUI thread only while it is
the newest of its kind (a feature chosen twice quickly shows the second)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from .layer_refresh import on_main_thread

log = logging.getLogger(__name__)


class LatestJobs:
    """`submit(kind, work, done)`: `work()` in a thread, then `done(result)` on the GUI thread
    unless a newer job of the same kind was submitted meanwhile; a failure goes to
    `on_error(kind, exception)` instead."""

    def __init__(self, on_error: Callable[[str, Exception], None]) -> None:
        self.on_error = on_error
        self.running = 0
        self._tickets: dict[str, int] = {}

    def submit(self, kind: str, work: Callable[[], Any], done: Callable[[Any], None]) -> None:
        ticket = self._tickets[kind] = self._tickets.get(kind, 0) + 1
        self.running += 1

        def finished(result: Any) -> None:
            self.running -= 1
            if isinstance(result, Exception):
                self.on_error(kind, result)
            elif self._tickets.get(kind) == ticket:
                done(result)

        finish = on_main_thread(finished)

        def target() -> None:
            try:
                result = work()
            except Exception as exc:  # reported, and the panel stays usable
                log.exception("%s failed", kind)
                finish(exc)
                return
            finish(result)

        threading.Thread(target=target, name=f"napari-hcs {kind}", daemon=True).start()
