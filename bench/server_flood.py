"""`python -m bench server --flood N`: what peers without the token cost the server.

Against one `napari-hcs serve` process on 127.0.0.1 (its memory measured alone, from
/proc/PID/status), while a token holder in its own process pings every 10 ms, one flood at a
time, each bounded in count and time (`--flood-seconds`, at most `--flood-mib` sent):

- `8 MiB requests`: N DEALER sockets send ~8 MiB requests without the token as fast as the
  server takes them (libzmq reconnects a dropped socket by itself, 100 ms later);
- `multipart that never ends`: N raw TCP peers speak ZMTP 3.0 and send 1 MiB frames with the
  "more" flag set, which libzmq would buffer until the last frame;
- `idle connections`: N x 4 raw peers finish the handshake and then say nothing.

Reported per flood: pings, their p99 and max round trip, and the server's RSS before, at its
peak and 3 s after the flood.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import zmq

MiB = 1024 * 1024
GREETING = b"\xff" + b"\0" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\0") + b"\0" * 32
READY_BODY = b"\x05READY" + b"\x0bSocket-Type" + struct.pack(">I", 6) + b"DEALER"


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class Memory:
    """Samples a process's RSS every 10 ms on a thread."""

    def __init__(self, pid: int) -> None:
        self.pid, self.before = pid, rss(pid)
        self.peak = self.before
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, rss(self.pid))
            time.sleep(0.01)

    def settled(self, seconds: float = 3.0) -> int:
        time.sleep(seconds)
        self.stop.set()
        self.thread.join()
        return rss(self.pid)


def _zmtp_peer(address: str) -> socket.socket:
    url = urlparse(address)
    peer = socket.create_connection((url.hostname, url.port), timeout=5)
    peer.sendall(GREETING)
    peer.recv(64)
    peer.sendall(b"\x04" + bytes([len(READY_BODY)]) + READY_BODY)
    return peer


def requests_flood(address: str, peers: int, seconds: float, max_mib: int) -> int:
    junk = b'{"v": 1, "op": "submit", "pad": "' + b"x" * (8 * MiB - 64) + b'"}'
    context = zmq.Context()
    sockets = []
    for _ in range(peers):
        peer = context.socket(zmq.DEALER)
        peer.setsockopt(zmq.LINGER, 0)
        peer.setsockopt(zmq.SNDHWM, 4)
        peer.connect(address)
        sockets.append(peer)
    sent, deadline = 0, time.monotonic() + seconds
    try:
        while sent * 8 < max_mib and time.monotonic() < deadline:
            for peer in sockets:
                try:
                    peer.send(junk, flags=zmq.NOBLOCK, copy=False)
                    sent += 1
                except zmq.Again:
                    pass
                while peer.poll(0):
                    peer.recv()
            time.sleep(0.001)
    finally:
        for peer in sockets:
            peer.close()
        context.term()
    return sent * 8


def multipart_flood(address: str, peers: int, seconds: float, max_mib: int) -> int:
    frame = b"\x03" + struct.pack(">Q", MiB) + b"y" * MiB  # a 1 MiB frame, "more" set
    sent, deadline = 0, time.monotonic() + seconds
    while sent < max_mib and time.monotonic() < deadline:
        live = [_zmtp_peer(address) for _ in range(peers)]
        for peer in live:
            peer.settimeout(0.2)
        while live and sent < max_mib and time.monotonic() < deadline:
            for peer in list(live):
                try:
                    peer.sendall(frame)
                    sent += 1
                except OSError:  # cut off (or stalled): start another
                    peer.close()
                    live.remove(peer)
        for peer in live:
            peer.close()
    return sent


def idle_flood(address: str, peers: int, seconds: float, max_mib: int) -> int:
    live = [_zmtp_peer(address) for _ in range(peers * 4)]
    time.sleep(seconds)
    for peer in live:
        peer.close()
    return 0


FLOODS = {"8 MiB requests": requests_flood, "multipart that never ends": multipart_flood,
          "idle connections": idle_flood}


def run_floods(address: str, pid: int, peers: int, seconds: float, max_mib: int,
               measure_pings: Any) -> list[tuple[str, int, list[float], Memory, int]]:
    """Each flood while `measure_pings(action)` pings; rows of (name, MiB sent, pings, memory,
    RSS after)."""
    rows = []
    for name, flood in FLOODS.items():
        memory = Memory(pid)
        sent: list[int] = []
        pings = measure_pings(lambda flood=flood, sent=sent: sent.append(
            flood(address, peers, seconds, max_mib)))
        after = memory.settled()
        rows.append((name, sent[0] if sent else 0, pings, memory, after))
    return rows


def print_rows(peers: int, rows: list[tuple[str, int, list[float], Memory, int]]) -> None:
    print(f"\nflood from {peers} sockets without the token (server RSS in MiB)")
    print(f"{'flood':28s} {'sent':>8s} {'pings':>6s} {'p99':>8s} {'max':>8s} {'before':>7s} "
          f"{'peak':>6s} {'after':>6s}")
    for name, sent, pings, memory, after in rows:
        ordered = sorted(pings)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0
        print(f"{name:28s} {sent:6d}MiB {len(pings):6d} {p99 * 1000:6.1f}ms "
              f"{max(pings, default=0) * 1000:6.1f}ms {memory.before / MiB:7.0f} "
              f"{memory.peak / MiB:6.0f} {after / MiB:6.0f}")
