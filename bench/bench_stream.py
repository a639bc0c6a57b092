"""Loopback streaming throughput: napari-hcs's publisher/receiver against raw pyzmq.

Both contenders move the same images (default 2048 x 2048 uint16, 8 MiB each) over TCP on
127.0.0.1 from a PUSH socket to a PULL socket whose reader is a thread of this process:

- `pyzmq raw`: `send(copy=False)` of the array's bytes, `recv(copy=False)`; no header, no checks,
  the same high-water marks (the floor: what the transport itself costs);
- `napari-hcs`: `StreamPublisher.send_well_result` (JSON header + zero-copy buffer, then a status
  message per image) into a `StreamReceiver` that validates and decodes every message with
  `np.frombuffer` and hands it to a callback.

Throughput is image bytes / (first send -> last image received). Repetitions are interleaved
(raw, hcs, raw, hcs, ...) and the median is reported.

    python -m bench.bench_stream [--size 2048] [--channels 1] [--count 40] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from types import SimpleNamespace

import numpy as np
import zmq

from napari_hcs.bridge.stream import DEFAULT_HWM, StreamPublisher, StreamReceiver


def raw_pyzmq(images: list[np.ndarray]) -> float:
    """Seconds to push every image through a bare PUSH/PULL pair."""
    ctx = zmq.Context.instance()
    pull = ctx.socket(zmq.PULL)
    pull.setsockopt(zmq.RCVHWM, DEFAULT_HWM)  # the same queue bounds as the publisher's
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.SNDHWM, DEFAULT_HWM)
    push.connect(f"tcp://127.0.0.1:{port}")
    done = threading.Event()

    def read() -> None:
        for _ in images:
            frame = pull.recv(copy=False)
            np.frombuffer(frame.buffer, dtype=images[0].dtype)
        done.set()

    reader = threading.Thread(target=read)
    reader.start()
    start = time.perf_counter()
    for image in images:
        push.send(image, copy=False)
    done.wait()
    elapsed = time.perf_counter() - start
    reader.join()
    push.close(linger=0)
    pull.close(linger=0)
    return elapsed


def napari_hcs_stream(images: list[np.ndarray]) -> float:
    """Seconds to stream every image as a well result through publisher and receiver."""
    got = 0
    done = threading.Event()

    def on_message(message) -> None:
        nonlocal got
        if message.kind == "image":
            got += 1
            if got == len(images):
                done.set()

    with StreamReceiver(on_message=on_message) as receiver:
        with StreamPublisher(receiver.address, send_timeout_ms=30000) as publisher:
            publisher.wait_for_peer(5)
            start = time.perf_counter()
            for i, image in enumerate(images):
                publisher.send_well_result(SimpleNamespace(
                    well=f"W{i:03d}", status="ok", error=None, image=image,
                    channel_names=[str(c + 1) for c in range(image.shape[0])]))
            done.wait()
            elapsed = time.perf_counter() - start
        if publisher.dropped:
            raise RuntimeError(f"napari-hcs stream dropped {publisher.dropped} messages")
    return elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--count", type=int, default=40, help="images per repetition")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    # Distinct arrays so nothing is served from a cache of the previous send.
    images = [rng.integers(0, 65535, (args.channels, args.size, args.size), dtype=np.uint16)
              for _ in range(min(args.count, 8))]
    images = [images[i % len(images)] for i in range(args.count)]
    megabytes = sum(i.nbytes for i in images) / 1e6
    contenders = {"pyzmq raw": raw_pyzmq, "napari-hcs": napari_hcs_stream}
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for run in contenders.values():  # warm-up: first connections, page faults, imports
        run(images[:2])
    for _ in range(args.repeats):
        for name, run in contenders.items():
            times[name].append(run(images))

    results = {}
    print(f"{args.count} images of {args.channels}x{args.size}x{args.size} uint16 "
          f"({megabytes:.0f} MB) over tcp://127.0.0.1, median of {args.repeats}")
    for name, seconds in times.items():
        median = statistics.median(seconds)
        results[name] = {"seconds": seconds, "median_s": median, "mb_per_s": megabytes / median}
        print(f"  {name:<10} {megabytes / median:8.0f} MB/s  ({median * 1000:.0f} ms)")
    ratio = results["napari-hcs"]["mb_per_s"] / results["pyzmq raw"]["mb_per_s"]
    print(f"  napari-hcs reaches {ratio:.0%} of raw pyzmq")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"megabytes": megabytes, "results": results}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
