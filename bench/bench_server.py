"""Does one heavy request stall the execution server for everybody else?

Three processes: `napari-hcs serve` on 127.0.0.1, a pinger client that pings it every 10 ms,
and this process, which sends authenticated ~8 MiB requests, one kind at a time, each
`--repeats` times:
long strings, millions of small items, escape-heavy text, floats just under the item limit,
and nesting 40 000 deep. Reported per kind: the ping round trip (median and max) while those
requests are being parsed and refused, against the same pinger with nothing else going on.

    python -m bench server [--repeats 5]

With `--flood N`, instead: floods from N sockets without the token, bounded in time and size
(bench/server_flood.py), with the pinger's p99 and max and the server's RSS before, at its
peak and after each.

    python -m bench server --flood 8 [--flood-seconds 5] [--flood-mib 2000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import zmq

TOKEN = "bench-server-token-0123456789"
MiB = 1024 * 1024


def _request(**fields) -> bytes:
    return json.dumps({"v": 1, "id": "h", "token": TOKEN, **fields}).encode()


def heavy_requests(plate: str) -> dict[str, bytes]:
    def document(parameters: dict) -> dict:
        return {"format": "napari-hcs-pipeline", "version": 1,
                "steps": [{"func": {"function": "gaussian_blur", "parameters": parameters}}]}

    return {
        "long strings": _request(op="submit", plate=plate, out=plate, pipeline={
            "format": "napari-hcs-pipeline", "version": 1,
            "steps": [{"func": {"function": "gaussian_blur",
                                "parameters": {"sigma": "x" * 110_000}}}] * 70}),
        "many small items": _request(op="submit", plate=plate, out=plate,
                                     pipeline=document({"sigma": [0] * 2_700_000})),
        "escapes": _request(op="submit", plate=plate)[:-1] + b', "e": "'
        + b"\\u0041" * (8 * MiB // 6 - 100) + b'"}',
        "escapes and brackets": b"[" * 30 + _request(op="ping")[:-1] + b', "e": "'
        + b"\\u0041" * (8 * MiB // 6 - 200) + b'"}' + b"]" * 30,
        "floats under the item limit": _request(op="submit", plate=plate, out=plate,
                                                pipeline=document({
                                                    "sigma": [1.2345678901234567e-300] * 49_000,
                                                    "pad": "p" * (6 * MiB)})),
        "pipeline source text": _request(op="submit", plate=plate, out=plate, pipeline=(
            "from napari_hcs.engine.pipeline import Pipeline\npipeline = Pipeline(name=\""
            + "x" * 64 + "\", steps=[])\n" + "a = [" + "1, " * (8 * MiB // 3 - 200) + "]\n")),
        "deep under the item limit": _request(op="ping", pad="p" * (8 * MiB - 300_000))[:-1]
        + b', "deep": ' + b"[" * 40_000 + b"]" * 40_000 + b"}",
    }


def _pings(address: str, stop: Any, out: Any) -> None:  # in the pinger process
    from napari_hcs.bridge.client import ExecutionClient

    latencies = []
    with ExecutionClient(address, TOKEN, timeout_s=30) as pinger:
        pinger.ping()
        out.put("ready")
        while not stop.is_set():
            start = time.perf_counter()
            try:
                pinger.ping()
            except TimeoutError:  # no answer within 30 s: recorded as such, and stop
                latencies.append(time.perf_counter() - start)
                break
            latencies.append(time.perf_counter() - start)
            time.sleep(0.01)
    out.put(latencies)


def measure(address: str, data: bytes | None, repeats: int, idle_s: float = 1.0) -> list[float]:
    context = mp.get_context("spawn")
    stop, results = context.Event(), context.Queue()
    pinger = context.Process(target=_pings, args=(address, stop, results))
    pinger.start()
    try:
        assert results.get(timeout=60) == "ready"
        if data is None:
            time.sleep(idle_s)
        else:
            peer = zmq.Context.instance().socket(zmq.DEALER)
            peer.setsockopt(zmq.LINGER, 0)
            peer.connect(address)
            for _ in range(repeats):
                peer.send(data)
                if not peer.poll(600_000):
                    raise TimeoutError("no reply to a heavy request (over 8 MiB?)")
                reply = json.loads(peer.recv())
                assert reply["ok"] is False, reply  # every kind is refused (or fails)
            peer.close()
    finally:
        stop.set()
        latencies = results.get(timeout=120)
        pinger.join()
    return latencies


def measure_during(address: str, action) -> list[float]:
    """The pinger's round trips while `action()` runs."""
    context = mp.get_context("spawn")
    stop, results = context.Event(), context.Queue()
    pinger = context.Process(target=_pings, args=(address, stop, results))
    pinger.start()
    try:
        assert results.get(timeout=60) == "ready"
        action()
    finally:
        stop.set()
        latencies = results.get(timeout=120)
        pinger.join()
    return latencies


def _serve(root: str, source: str | None) -> tuple[subprocess.Popen, str]:
    token_file = Path(root) / "token"
    token_file.write_text(TOKEN)
    env = {**os.environ, "PYTHONPATH": source} if source else None
    server = subprocess.Popen(
        [sys.executable, "-m", "napari_hcs.cli", "serve", "--port", "0", "--root", root,
         "--token-file", str(token_file)], stdout=subprocess.PIPE, text=True, env=env)
    address = server.stdout.readline().split()[-1]
    return server, address


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench server", description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--server-src", help="run the server from this source tree (e.g. an "
                        "older checkout's src/, for a before/after comparison)")
    parser.add_argument("--only", help="comma-separated kinds to send (default: all)")
    parser.add_argument("--flood", type=int, default=0, metavar="N",
                        help="flood from N sockets without the token instead (server_flood)")
    parser.add_argument("--flood-seconds", type=float, default=5.0)
    parser.add_argument("--flood-mib", type=int, default=2000, help="most MiB a flood sends")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as root:
        server, address = _serve(root, args.server_src)
        try:
            if args.flood:
                from .server_flood import print_rows, run_floods

                rows = run_floods(address, server.pid, args.flood, args.flood_seconds,
                                  args.flood_mib, lambda action: measure_during(address, action))
                print_rows(args.flood, rows)
                print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on "
                      f"{os.cpu_count()} CPUs")
                return 0
            rows = [("idle (no heavy requests)", measure(address, None, 0))]
            for name, data in heavy_requests(root).items():
                if args.only and name not in args.only.split(","):
                    continue
                rows.append((f"{name} ({len(data) / MiB:.1f} MiB)",
                             measure(address, data, args.repeats)))
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"{'ping round trip while the server gets':48s} {'pings':>6s} {'median':>9s} "
          f"{'max':>9s}")
    for name, values in rows:
        print(f"{name:48s} {len(values):6d} {statistics.median(values) * 1000:7.1f}ms "
              f"{max(values) * 1000:7.1f}ms")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on "
          f"{os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
