"""`napari-hcs run` as a user starts it: its own process and session (a terminal job), with
stderr collected line by line, for the run-safety and run-limit tests. The folder of this
module is on the workers' path, so test functions defined beside it can be run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

FUNCS = Path(__file__).parent  # run_safety_funcs, run_limits_funcs: importable by the workers
WAIT = 120.0  # seconds: an upper bound for anything to happen, never an expected duration


def until(condition, seconds: float = WAIT) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


class Cli:
    """`napari-hcs run ARGV --no-progress` in its own process and session, stderr collected."""

    def __init__(self, *argv: str) -> None:
        env = {**os.environ,
               "PYTHONPATH": os.pathsep.join([str(FUNCS), os.environ.get("PYTHONPATH", "")])}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "napari_hcs.cli", "run", *argv, "--no-progress"],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env,
            start_new_session=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for_line(self, text: str) -> None:
        until(lambda: any(text in line for line in self.lines) or self.proc.poll() is not None)
        assert any(text in line for line in self.lines), self.lines

    def finish(self) -> int:
        """The exit code; a run still going after `WAIT` is killed with its session."""
        try:
            code = self.proc.wait(WAIT)
        finally:
            self.kill()
        self._reader.join(WAIT)
        return code

    def workers(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children(recursive=True)

    def pool_workers(self) -> list[psutil.Process]:
        """The worker processes: spawned ones, or those forked from the fork server."""
        def is_worker(process: psutil.Process) -> bool:
            if "spawn_main" in " ".join(process.cmdline()):
                return True
            parent = process.parent()
            return parent is not None and "forkserver" in " ".join(parent.cmdline())

        return [c for c in self.workers() if is_worker(c)]

    def kill(self) -> None:
        """Clean-up after a failed test: the run and anything left in its session."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(WAIT)
