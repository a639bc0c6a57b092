"""Dask backend: one task per well on a `dask.distributed` cluster (the `[dask]` extra).

Plans are plain frozen dataclasses, so they travel to workers as they are; each task calls the
same `well.run_well` as a local worker and writes the well's outputs through the VFS itself
(the output folder must be on a file system the workers share). Progress comes back through
the workers' structured event log (`Worker.log_event` -> `Client.subscribe_topic`), cancel goes
out through a `distributed.Event`. A worker that dies mid-well makes the scheduler retry the
well elsewhere (up to `distributed.scheduler.allowed-failures` times); after that the well is
recorded as failed, so a killed worker never hangs the run.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from ..compiler.plan import WellPlan
from .backend import BackendUnavailable
from .events import ProgressEvent, WellResult
from .process_guard import children_ignore_sigint
from .well import WellOptions, run_well
from .worker import plan_functions, warm

#: The worker resource a GPU task asks for; start GPU workers with `--resources GPU=1`.
GPU_RESOURCE = "GPU"
POLL_SECONDS = 0.1
_EVENT_FIELDS = tuple(f.name for f in dataclasses.fields(ProgressEvent))


def run_well_task(plan: WellPlan, device: str, options: WellOptions, topic: str,
                  cancel_name: str) -> WellResult:
    """The task a Dask worker runs for one well."""
    from distributed import Event, get_worker

    worker = get_worker()
    cancel = Event(cancel_name)

    def emit(event: ProgressEvent) -> None:
        worker.log_event(topic, dataclasses.asdict(event))

    # A GPU worker sees its own card(s) as cuda:0.. (CUDA_VISIBLE_DEVICES), so use the first.
    slot = "cuda:0" if device.startswith("cuda") else "cpu"
    warm(plan_functions([plan]))  # imports outside the first step's timing (cached after)
    return run_well(plan, device=slot, options=options, emit=emit, cancelled=cancel.is_set)


class DaskBackend:
    """Runs wells on the cluster at `scheduler`, or on a `LocalCluster` started for the run."""

    name = "dask"

    def __init__(self, scheduler: str | None = None, *, retries: int = 0,
                 threads_per_worker: int = 1) -> None:
        self.scheduler = scheduler
        self.retries = retries
        self.threads_per_worker = threads_per_worker

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
        if not plans or cancel.is_set():
            return
        client, cluster = self._connect(workers, device)
        try:
            _DaskRun(client, device, options, on_event, on_done, cancel, self.retries).run(plans)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()

    def _connect(self, workers: int, device: str) -> tuple[Any, Any]:
        import dask
        from distributed import Client, LocalCluster

        cluster = None
        if self.scheduler:
            try:
                client = Client(self.scheduler, timeout="10s")
            except OSError as exc:
                raise BackendUnavailable(
                    f"cannot reach the Dask scheduler at {self.scheduler}: {exc}") from None
        else:
            resources = {GPU_RESOURCE: 1} if device.startswith("cuda") else None
            # A task is a whole well: hand a worker the next well only when it is free, so a
            # worker that dies takes no queued, innocent well down with it.
            # The cluster's worker processes ignore SIGINT (process_guard): a terminal's Ctrl-C
            # reaches the whole process group, and only this process turns it into a cancel.
            # (Dask's own workers already exit when their parent dies.)
            with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}), \
                    children_ignore_sigint():
                cluster = LocalCluster(n_workers=workers, processes=True, resources=resources,
                                       threads_per_worker=self.threads_per_worker,
                                       dashboard_address=None)
            client = Client(cluster)
        if device.startswith("cuda"):
            gpus = [w for w in client.scheduler_info()["workers"].values()
                    if w.get("resources", {}).get(GPU_RESOURCE)]
            if not gpus:
                client.close()
                if cluster is not None:
                    cluster.close()
                # Tasks asking for a resource nobody has would wait forever: refuse up front.
                raise BackendUnavailable(
                    f"--device {device} on Dask needs workers started with "
                    f"--resources {GPU_RESOURCE}=1; none of the scheduler's workers has it")
        return client, cluster


class _DaskRun:
    def __init__(self, client: Any, device: str, options: WellOptions,
                 on_event: Callable[[ProgressEvent], None],
                 on_done: Callable[[WellResult], None], cancel: threading.Event,
                 retries: int) -> None:
        self.client, self.device, self.options = client, device, options
        self.on_event, self.on_done, self.cancel = on_event, on_done, cancel
        self.retries = retries
        run_id = uuid.uuid4().hex[:12]
        self.topic = f"napari-hcs-progress-{run_id}"
        self.cancel_name = f"napari-hcs-cancel-{run_id}"
        # subscribe_topic calls back on the client's event-loop thread; hand over to ours.
        self.events: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()

    def run(self, plans: Sequence[WellPlan]) -> None:
        from distributed import Event, as_completed

        remote_cancel = Event(self.cancel_name, client=self.client)
        self.client.subscribe_topic(self.topic, lambda item: self.events.put(item[1]))
        resources = {GPU_RESOURCE: 1} if self.device.startswith("cuda") else None
        futures = {
            self.client.submit(run_well_task, plan, self.device, self.options, self.topic,
                               self.cancel_name, key=f"well-{plan.well}-{self.topic[-12:]}",
                               resources=resources, retries=self.retries, pure=False): plan
            for plan in plans
        }
        finished = as_completed(futures)
        try:
            while not finished.is_empty():
                self._drain()
                for future in finished.next_batch(block=False):
                    self._collect(future, futures[future])
                if self.cancel.is_set() and not remote_cancel.is_set():
                    remote_cancel.set()  # running wells stop between steps
                    running = {key for keys in self.client.processing().values() for key in keys}
                    self.client.cancel([f for f in futures
                                        if f.status == "pending" and f.key not in running])
                time.sleep(POLL_SECONDS)
        finally:
            self._drain()
            self.client.unsubscribe_topic(self.topic)

    def _collect(self, future: Any, plan: WellPlan) -> None:
        if future.status == "cancelled":
            return  # never started: not reported (the runner lists it as not run)
        try:
            result = future.result()
        except Exception as exc:  # KilledWorker after retries, or a result that cannot travel
            name = type(exc).__name__
            reason = ("the Dask worker running this well died (killed, out of memory or "
                      "crashed) on every attempt" if name == "KilledWorker" else f"{name}: {exc}")
            self.on_event(ProgressEvent(plan.well, "", 0, len(plan.steps), "failed"))
            result = WellResult(plan.well, "failed", error=f"dask: {reason}", failed_step="worker")
        self.on_done(result)

    def _drain(self) -> None:
        while True:
            try:
                item = self.events.get_nowait()
            except queue.Empty:
                return
            # The event log adds its own keys (e.g. `worker`); keep the event's fields.
            self.on_event(ProgressEvent(**{k: item[k] for k in _EVENT_FIELDS if k in item}))
