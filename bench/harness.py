"""Timing utilities shared by the benchmarks.

Every contender runs as a subprocess so that wall time, CPU time and memory are measured the
same way for all of them, whatever language or venv they use:

- wall time: `time.perf_counter()` around the subprocess;
- CPU time: user + system time of the process and every descendant it waited for, from
  `resource.getrusage(RUSAGE_CHILDREN)` deltas (worker pools are joined, so they count);
- peak memory: the largest sum of RSS over the whole process tree, sampled with psutil every
  `interval` seconds (a pool of workers is several processes; `ru_maxrss` would only give the
  largest one). Without psutil it falls back to `ru_maxrss` of the largest child.

Repetitions are interleaved (A B C A B C ...) so that drift of a shared machine (other jobs,
page cache, thermal) spreads over every contender instead of biasing one.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

try:  # psutil comes with dask[distributed]; the fallback keeps the harness usable without it
    import psutil
except ImportError:  # pragma: no cover - exercised only where psutil is missing
    psutil = None


@dataclass
class Measurement:
    """One run of one contender."""

    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    returncode: int
    log_tail: str = ""
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


class BenchError(RuntimeError):
    """A contender failed; the message names it and carries the tail of its output."""


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:  # a worker that exited between listing and reading
            pass
    return total


class _RssSampler(threading.Thread):
    """Samples the RSS sum of a process tree until stopped; keeps the peak."""

    def __init__(self, pid: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak = max(self.peak, _tree_rss(self.proc))
            self._halt.wait(self.interval)

    def stop(self) -> int:
        self._halt.set()
        self.join()
        return self.peak


def _children_cpu() -> tuple[float, int]:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime, ru.ru_maxrss  # ru_maxrss: KiB on Linux


def run_measured(
    cmd: Sequence[str],
    *,
    name: str = "",
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    interval: float = 0.05,
    timeout: float | None = None,
    check: bool = True,
) -> Measurement:
    """Run `cmd` to completion and measure it (see the module docstring for how).

    Output is captured and its tail kept, so a failure is reported with the contender's own
    message.
    """
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    cpu0, _ = _children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        list(map(str, cmd)),
        env=full_env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    sampler = _RssSampler(proc.pid, interval) if psutil is not None else None
    if sampler:
        sampler.start()
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise BenchError(f"{name or cmd[0]}: timed out after {timeout} s") from None
    finally:
        peak = sampler.stop() if sampler else 0
    wall = time.perf_counter() - t0
    cpu1, maxrss_kib = _children_cpu()
    if not peak:
        peak = maxrss_kib * 1024
    tail = out.decode(errors="replace")[-4000:]
    m = Measurement(
        wall_s=wall,
        cpu_s=cpu1 - cpu0,
        peak_rss_mb=peak / 2**20,
        returncode=proc.returncode,
        log_tail=tail,
    )
    if check and proc.returncode != 0:
        raise BenchError(f"{name or cmd[0]} exited with {proc.returncode}:\n{tail}")
    return m


def interleave(
    cases: Mapping[str, Callable[[int], Measurement]],
    repetitions: int,
    *,
    on_result: Callable[[str, int, Measurement], None] | None = None,
) -> dict[str, list[Measurement]]:
    """Run every case once per round, rounds repeated: A B C, A B C, ...

    `cases[name](rep)` runs one repetition. A case that raises is recorded as failed and
    skipped in later rounds, so one broken contender does not stop the others.
    """
    results: dict[str, list[Measurement]] = {name: [] for name in cases}
    failed: set[str] = set()
    for rep in range(repetitions):
        for name, run in cases.items():
            if name in failed:
                continue
            try:
                m = run(rep)
            except BenchError as exc:
                print(f"[bench] {name} failed: {exc}", file=sys.stderr)
                failed.add(name)
                m = Measurement(float("nan"), float("nan"), float("nan"), -1, str(exc)[-4000:])
            results[name].append(m)
            if on_result:
                on_result(name, rep, m)
    return results


@dataclass
class Summary:
    """Median and spread of one metric over repetitions."""

    median: float
    min: float
    max: float
    n: int

    @property
    def spread_pct(self) -> float:
        """Half the min-max range as a percentage of the median (the "±" in tables)."""
        if not self.n or self.median == 0:
            return float("nan")
        return 50.0 * (self.max - self.min) / self.median


def summarize(values: Sequence[float]) -> Summary:
    vals = [v for v in values if v == v]  # drop NaN (failed repetitions)
    if not vals:
        nan = float("nan")
        return Summary(nan, nan, nan, 0)
    return Summary(statistics.median(vals), min(vals), max(vals), len(vals))


def ratio(value: float, reference: float) -> float:
    if not reference or reference != reference or value != value:
        return float("nan")
    return value / reference


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table (readable in a terminal and pasteable into docs)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), sep, *(line(r) for r in cells[1:])])


def machine_info() -> dict:
    """What the figures were measured on."""
    import platform

    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    }
    try:
        with open("/proc/cpuinfo") as f:
            for row in f:
                if row.startswith("model name"):
                    info["cpu_model"] = row.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    if psutil is not None:
        info["memory_gib"] = round(psutil.virtual_memory().total / 2**30, 1)
    return info
