"""Local backend: wells in a pool of spawned worker processes, one well per task.

Failure isolation: a well that raises is a failed `WellResult` (see `well.run_well`). A worker
that dies (kill -9, out of memory, a segfault in a C extension) breaks the whole
`ProcessPoolExecutor`; the pool is then recreated and the wells that were running are retried
one at a time, so the well that kills its worker is found, recorded as failed, and the others
finish. Workers exit when this process dies and leave Ctrl-C to it (`process_guard`).

Workers are forked from a server that imported what they need once (`fork_server`).

Limits (`limits.RunLimits`): each worker's memory is capped at its start; a well running past
the time limit, or a step still running past the cancel grace, has its worker killed here (each
worker reports the well it starts with its pid). The well is then failed naming its step, and
the wells that shared the pool (which a kill breaks) go back to the queue: they did nothing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from ..compiler.plan import WellPlan
from .events import ProgressEvent, WellResult
from .fork_server import release_worker_server, start_worker_server, worker_context
from .limits import RunLimits
from .process_guard import children_ignore_sigint
from .slots import DeviceSlots
from .well import WellOptions, run_well
from .worker import STARTED, execute, init_worker, plan_functions

POLL_SECONDS = 0.05


@dataclass
class _Task:
    plan: WellPlan
    slot: str
    solo: bool  # running alone, to find out whether this well kills its worker


class LocalBackend:
    """`workers` processes (forked from the fork server, or spawned); `in_process=None` runs a
    single worker in this process; `last_run`: the process starts no pool after this run;
    `nice`: workers lower their CPU priority by this much (a GUI keeps the CPU it needs to
    repaint while wells run on the same cores)."""

    name = "local"

    def __init__(self, in_process: bool | None = None, per_device: int | None = None,
                 last_run: bool = False, limits: RunLimits | None = None,
                 nice: int = 0) -> None:
        self.in_process = in_process
        self.per_device = per_device
        self.nice = nice
        self.last_run = last_run  # the process runs nothing after: the server may leave
        self.limits = limits  # None: RunLimits() (time and cancel only; no memory cap)

    def run(
        self,
        plans: Sequence[WellPlan],
        *,
        workers: int,
        device: str,
        options: WellOptions,
        on_event: Callable[[ProgressEvent], None],
        on_done: Callable[[WellResult], None],
        cancel: threading.Event,
    ) -> None:
        slots = DeviceSlots(device, workers, self.per_device)
        if self.in_process or (self.in_process is None and slots.size == 1):
            for plan in plans:
                if cancel.is_set():
                    return
                slot = slots.acquire()
                try:
                    on_done(run_well(plan, device=slot, options=options, emit=on_event,
                                     cancelled=cancel.is_set))
                finally:
                    slots.release(slot)
            return
        limits = self.limits or RunLimits()
        if device.startswith("cuda"):  # CUDA maps far more address space than it uses
            limits = RunLimits(None, limits.well_timeout_s, limits.cancel_grace_s)
        try:
            _PoolRun(slots, options, on_event, on_done, cancel, limits, self.nice).run(plans)
        finally:
            if self.last_run:
                release_worker_server()


class _PoolRun:
    def __init__(self, slots: DeviceSlots, options: WellOptions,
                 on_event: Callable[[ProgressEvent], None],
                 on_done: Callable[[WellResult], None], cancel: threading.Event,
                 limits: RunLimits, nice: int = 0) -> None:
        self.slots, self.options, self.limits = slots, options, limits
        self.nice = nice
        self.on_event, self.on_done, self.cancel = on_event, on_done, cancel
        self.ctx = worker_context()
        self.last_step: dict[str, str] = {}
        self.workers: dict[str, tuple[int, float]] = {}  # well -> (pid, started) while running
        self.stopped: dict[str, str] = {}  # well -> why its worker was killed here
        self.killed = False  # this pool broke because a worker was killed here
        self.cancelled_at: float | None = None
        self.in_flight: dict[Future, _Task] = {}
        self.functions: tuple[str, ...] = ()

    def _start_pool(self) -> None:
        # A fresh queue with each pool: a killed worker may have died holding the old one's lock.
        # SimpleQueue writes synchronously, so a worker's last event before a kill -9 arrives
        # (a Queue's feeder thread would lose it) and the failure can name the step.
        self.events = self.ctx.SimpleQueue()
        self.worker_cancel = self.ctx.Event()
        if self.cancel.is_set():
            self.worker_cancel.set()
        with children_ignore_sigint():  # workers ignore Ctrl-C from birth (process_guard)
            self.pool = ProcessPoolExecutor(
                max_workers=self.slots.size, mp_context=self.ctx,
                initializer=init_worker,
                initargs=(self.events, self.worker_cancel, self.functions, dict(os.environ),
                          self.limits.max_memory_bytes, self.nice),
            )

    def _stop_pool(self) -> None:
        self._drain()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.events.close()

    def run(self, plans: Sequence[WellPlan]) -> None:
        pending: deque[WellPlan] = deque(plans)
        suspects: deque[WellPlan] = deque()
        self.functions = plan_functions(plans)  # each worker imports them once, at start
        start_worker_server()
        _import_in_background("pandas")  # wells' tables come back as DataFrames
        self._start_pool()
        try:
            while pending or suspects or self.in_flight:
                if self.cancel.is_set():
                    self.worker_cancel.set()  # running wells stop between steps
                    pending.clear()
                    suspects.clear()
                if self._submit(pending, suspects) and not self.in_flight:
                    self._restart_pool()  # broke with nothing in flight to collect it by
                done, _ = wait(list(self.in_flight), timeout=POLL_SECONDS,
                               return_when=FIRST_COMPLETED)
                self._drain()
                self._enforce_limits()
                if self._collect(done, suspects, pending):
                    # Every task of a broken pool fails; collect them all, then start afresh.
                    self._collect(wait(list(self.in_flight)).done, suspects, pending)
                    self.stopped.clear()
                    self.killed = False
                    self._restart_pool()
        except BaseException:  # a second Ctrl-C (KeyboardInterrupt): abort without waiting
            self._kill_workers()
            raise
        finally:
            self._stop_pool()

    def _restart_pool(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self._start_pool()

    def _kill_workers(self) -> None:
        # Workers ignore SIGINT (process_guard), so an abort must stop them itself.
        for process in list((getattr(self.pool, "_processes", None) or {}).values()):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                process.kill()

    def _submit(self, pending: deque[WellPlan], suspects: deque[WellPlan]) -> bool:
        """Start wells while slots are free; True when the pool turned out to be broken (a
        worker died since the last collection: the well goes back to its queue)."""
        while self.slots.available() and not self.cancel.is_set():
            if suspects:
                if self.in_flight:
                    return False
                queue, solo = suspects, True
            elif pending:
                queue, solo = pending, False
            else:
                return False
            plan = queue.popleft()
            slot = self.slots.acquire()
            try:
                with children_ignore_sigint():  # submit starts worker processes (on demand)
                    future = self.pool.submit(execute, plan, slot, self.options)
            except BrokenProcessPool:
                self.slots.release(slot)
                queue.appendleft(plan)
                return True
            self.in_flight[future] = _Task(plan, slot, solo)
            if solo:
                return False
        return False

    def _enforce_limits(self) -> None:
        """Kill the worker of a well past its time, and every worker a cancel waits for past
        the grace (module docstring)."""
        now = time.monotonic()
        if self.cancel.is_set() and self.cancelled_at is None:
            self.cancelled_at = now
        timeout, grace = self.limits.well_timeout_s, self.limits.cancel_grace_s
        for well, (pid, started) in list(self.workers.items()):
            step = self.last_step.get(well, "reading input")
            if timeout is not None and now - started > timeout:
                why = (f"{step}: the well did not finish within the time limit "
                       f"(--well-timeout {timeout:g} s); its worker was stopped")
            elif self.cancelled_at is not None and now - self.cancelled_at > grace:
                why = (f"{step}: cancelled; the step did not return within the cancel grace "
                       f"({grace:g} s), so its worker was stopped")
            else:
                continue
            self.stopped[well] = why
            self.killed = True
            del self.workers[well]
            with contextlib.suppress(OSError):
                os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))  # Windows: terminate

    def _collect(self, done: Any, suspects: deque[WellPlan], pending: deque[WellPlan]) -> bool:
        broken = False
        for future in done:
            task = self.in_flight.pop(future)
            self.slots.release(task.slot)
            well = task.plan.well
            self.workers.pop(well, None)
            try:
                result = future.result()
            except BrokenProcessPool:
                broken = True
                if well in self.stopped:  # killed here: the reason is known
                    step = self.last_step.get(well, "reading input")
                    self._lost(_failed(well, self.stopped.pop(well), step))
                    continue
                if self.killed and not self.cancel.is_set():
                    pending.appendleft(task.plan)  # the pool broke by our kill, not this well
                    continue
                if not task.solo:
                    suspects.append(task.plan)
                    continue
                step = self.last_step.get(well, "reading input")
                result = _failed(well, f"{step}: the worker process died while processing this "
                                 "well (killed, e.g. kill -9 or out of memory, or crashed)", step)
                self._lost(result)
            except Exception as exc:  # e.g. a result that cannot be pickled back
                result = _failed(well, f"worker error: {type(exc).__name__}: {exc}", "worker")
                self._lost(result)
            else:
                self.on_done(result)
        return broken

    def _lost(self, result: WellResult) -> None:
        # The worker could not report the well's end itself: report it here.
        self.on_event(ProgressEvent(result.well, "", 0, 0, "failed"))
        self.on_done(result)

    def _drain(self) -> None:
        while True:
            try:
                if self.events.empty():
                    return
                event = self.events.get()
            except (OSError, ValueError, EOFError):
                return
            if isinstance(event, tuple):  # (STARTED, well, pid)
                if event[0] == STARTED:
                    self.workers[event[1]] = (event[2], time.monotonic())
                continue
            if event.state == "running":
                self.last_step[event.well] = f"step {event.index} {event.step!r}"
            self.on_event(event)


def _import_in_background(name: str) -> None:
    """Import `name` in a thread while this process waits for its workers: otherwise the first
    result to come back imports it while unpickling, and every worker waits for that."""
    import importlib
    import sys

    if name not in sys.modules:
        threading.Thread(target=_quietly, args=(importlib.import_module, name), daemon=True,
                         name=f"napari-hcs-import-{name}").start()


def _quietly(call: Callable[[str], Any], name: str) -> None:
    with contextlib.suppress(Exception):  # a missing library shows where it is needed
        call(name)


def _failed(well: str, error: str, step: str | None) -> WellResult:
    return WellResult(well, "failed", error=error, failed_step=step)
