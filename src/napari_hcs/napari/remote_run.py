"""A run on an execution server, seen from the viewer: submit the pipeline, follow its events.

What travels is the pipeline's document (data naming registered functions, docs/wire.md),
never Python source.

No Qt here. The Run dock drives `follow_remote_run` (a generator) in a thread worker and gets
each event on the GUI thread; results do not come this way but over the dock's stream receiver
(the submit names its address). `cancel_remote_run` uses its own connection because a ZMQ
socket belongs to one thread, and the follower's socket is busy in the worker.
"""

from __future__ import annotations

import ast
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..bridge.client import ExecutionClient, ServerError
from ..engine.compiler import CompileError
from ..engine.compiler.problems import Problem

#: How the server prefixes a compile failure (`ExecutionServer._op_submit`).
_COMPILE_PREFIX = "the pipeline does not compile:"
_PROBLEM = re.compile(
    r"^(?:step (?P<index>\d+) (?P<name>'[^']*'|\"[^\"]*\"))?(?:, )?"
    r"(?:parameter (?P<param>'[^']*'|\"[^\"]*\"))?: (?P<message>.*)$"
)
#: How often the follower wakes up to check whether the dock let go of the run.
POLL_S = 1.0


class RemoteRunError(Exception):  # not RuntimeError: napari workers swallow those
    """A request the server refused or never answered; the text says which server and why."""


@dataclass(frozen=True)
class ServerTarget:
    """Where the execution server listens and the token it was started with."""

    address: str
    token: str
    timeout_s: float = 15.0

    def client(self) -> ExecutionClient:
        return ExecutionClient(self.address, self.token, timeout_s=self.timeout_s)


def problems_from_server(text: str) -> list[Problem]:
    """The compiler's problems back from the server's error text (`CompileError`'s lines)."""
    problems: list[Problem] = []
    for line in text.splitlines()[1:]:
        if not line.startswith("  - "):
            if problems and line.strip():  # a message that spans lines
                last = problems[-1]
                problems[-1] = Problem(last.step_index, last.step_name, last.parameter,
                                       f"{last.message}\n{line.strip()}")
            continue
        body = line[4:]
        match = _PROBLEM.match(body)
        if match is None or not (match["index"] or match["param"]):
            problems.append(Problem(None, None, None, body))
            continue
        problems.append(Problem(
            int(match["index"]) - 1 if match["index"] else None,
            ast.literal_eval(match["name"]) if match["name"] else None,
            ast.literal_eval(match["param"]) if match["param"] else None,
            match["message"]))
    return problems


def _explain(target: ServerTarget, exc: Exception) -> Exception:
    """The error the dock shows: compile problems as a CompileError, the rest named."""
    text = str(exc)
    if isinstance(exc, ServerError) and text.startswith(_COMPILE_PREFIX):
        return CompileError(problems_from_server(text))
    if isinstance(exc, ServerError) and "token" in text:
        return RemoteRunError(f"server {target.address} refused the token: {text}. Use the "
                              "token that `napari-hcs serve` printed (or its --token-file).")
    if isinstance(exc, ServerError):
        return RemoteRunError(f"server {target.address} refused the run: {text}")
    return RemoteRunError(f"lost contact with server {target.address}: {text}")


def follow_remote_run(
    target: ServerTarget,
    pipeline: Any,
    plate: str,
    out: str,
    *,
    wells: Sequence[str] | None = None,
    workers: int = 1,
    device: str = "cpu",
    stream: str | None = None,
    stop: threading.Event | None = None,
) -> Iterator[dict[str, Any]]:
    """Submit a run and yield its events until it finishes.

    `pipeline` is a Pipeline or its document (`pipeline_to_document`); the server gets the
    document.

    The first item is `{"state": "submitted", "run": id, "wells": [...]}`, then the server's
    events (`seq`, `state`, `well`, `step`, ...), the last with `state == "finished"`. Raises
    `CompileError` (the server's problems) or `RemoteRunError`. Setting `stop` detaches from
    the run within `POLL_S` (the run goes on on the server; cancel it with
    `cancel_remote_run`).
    """
    stop = stop or threading.Event()
    with target.client() as client:
        try:
            run = client.submit(pipeline, plate, out, wells=list(wells) if wells else None,
                                workers=workers, device=device, stream=stream)
            queued = list(client.status(run)["wells"])
        except (ServerError, TimeoutError) as exc:
            raise _explain(target, exc) from None
        yield {"state": "submitted", "run": run, "wells": queued}
        last = 0
        while not stop.is_set():
            try:
                # A short deadline so that `stop` is seen; each call re-subscribes from `last`,
                # which also notices a server that went away (its request times out).
                for event in client.events(run, since=last, timeout_s=POLL_S):
                    last = event["seq"]
                    yield event
                    if event.get("state") == "finished" or stop.is_set():
                        return
            except TimeoutError as exc:
                if "did not finish" not in str(exc):  # the subscribe got no reply at all
                    raise _explain(target, exc) from None
            except ServerError as exc:
                raise _explain(target, exc) from None


def cancel_remote_run(target: ServerTarget, run: str) -> dict[str, Any]:
    """Ask the server to cancel `run`; returns its summary. Raises RemoteRunError."""
    try:
        with target.client() as client:
            return client.cancel(run)
    except (ServerError, TimeoutError) as exc:
        raise _explain(target, exc) from None


def well_finished(event: dict[str, Any]) -> bool:
    """True for the event that ends one well (`ok` or `failed`, not a step's)."""
    return bool(event.get("well")) and event.get("state") in ("ok", "failed") and (
        not event.get("step"))


def apply_event(session: Any, event: dict[str, Any]) -> str | None:
    """Mirror one event of `follow_remote_run` in the session's well states (the Plate dock
    colours wells by them); returns a line for the status, or None."""
    state, well = event.get("state"), event.get("well")
    if state == "submitted":
        session.set_problems([])
        for name in event["wells"]:
            session.set_well_state(name, "queued")
        return f"Run {event['run']} submitted: {len(event['wells'])} wells."
    if state == "finished":
        failed, not_run = event.get("failed") or {}, event.get("not_run") or []
        for name in not_run:
            session.set_well_state(name, "cancelled")
        for name, error in failed.items():  # stopped by the cancel: not a failure
            if event.get("status") == "cancelled" and str(error).startswith("cancelled"):
                session.set_well_state(name, "cancelled")
        if event.get("status") == "error":
            return f"Remote run stopped: {event.get('error')}"
        return (f"Remote run {event.get('status')}: {len(failed)} failed, "
                f"{len(not_run)} not run.")
    if well and state in ("started", "running"):
        if session.well_states.get(well) != "running":
            session.set_well_state(well, "running")
        if event.get("step"):
            return (f"{well}: step {event['index']}/{event['total']} {event['step']} running "
                    "(remote)")
    elif well_finished(event):
        session.set_well_state(well, state)
    return None
