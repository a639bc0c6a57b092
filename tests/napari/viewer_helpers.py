"""Helpers for tests that drive a real viewer: wait for results, measure event-loop stalls."""

from __future__ import annotations


def wait_until_shown(qtbot, sink, timeout: int = 60_000) -> None:
    """Wait until every result given to `sink` is prepared and applied on the GUI thread."""
    qtbot.waitUntil(lambda: sink.idle, timeout=timeout)
    qtbot.wait(50)  # the last batch's queued call to the GUI thread


class StallMeter:
    """Longest gap between the ticks of a 10 ms QTimer, minus the period (ms)."""

    def __init__(self) -> None:
        import time

        from qtpy.QtCore import QTimer

        self._clock = time.perf_counter
        self.longest = 0.0
        self._last = self._clock()
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = self._clock()
        self.longest = max(self.longest, (now - self._last) * 1000 - 10)
        self._last = now

    def start(self) -> StallMeter:
        self._last = self._clock()
        self.timer.start()
        return self

    def stop(self) -> float:
        self.timer.stop()
        return self.longest
