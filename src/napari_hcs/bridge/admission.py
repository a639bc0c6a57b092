"""Which connections the execution server keeps: bounded before anyone is authenticated.

libzmq buffers what a peer sends before the server sees it: up to `RCVHWM` whole messages per
connection, plus the one being decoded, each at most `MAXMSGSIZE`. The server sets both low
(`RECEIVE_QUEUE` 1), so one connection holds at most 2 x 8 MiB plus its kernel receive buffer
(`RECEIVE_BUFFER`). What libzmq does not bound is the number of connections, and what a
connection that knows no token may go on sending; `PeerGuard` bounds both, on the server's
loop thread, from libzmq's own records: its monitor reports each accepted connection and its
file descriptor, and every received message names the descriptor it came from (`SRCFD`).

- A connection is *untrusted* until it sends a request carrying the token.
- At most `MAX_UNTRUSTED` untrusted connections at once: a new one beyond that drops the oldest
  untrusted one; one that stays untrusted for `UNTRUSTED_GRACE_S` is dropped too (an idle or
  trickling peer, a slow-loris).
- An untrusted connection whose refused requests add up to more than `UNTRUSTED_BYTES` or
  `UNTRUSTED_REQUESTS` is dropped (its refusal is sent first; what it sends after is discarded
  unread).

- A connection with more than `PEER_IN_FLIGHT` bytes in flight (received by the kernel, not yet
  taken by the server: Linux's TCP_INFO) is dropped, token or not: only a peer that breaks the
  protocol gets there (a multipart message that never ends, which libzmq buffers unbounded).
- Untrusted connections together keep at most `UNTRUSTED_IN_FLIGHT` in flight: past it, the
  one with most beyond a single waiting request is dropped.

Dropping is `shutdown()` on the connection's socket (a duplicate of libzmq's descriptor, taken
when the connection is accepted, so libzmq itself sees the end, closes it and frees its queue).
What libzmq may hold for untrusted peers is so bounded twice: by its own back-pressure at
`MAX_UNTRUSTED` x `PEER_IN_FLIGHT` (about 270 MiB), and by the guard's measurement, taken every
turn of the server's loop (at least every 20 ms), at the larger of `UNTRUSTED_IN_FLIGHT` (64 MiB)
and `MAX_UNTRUSTED` x `ONE_REQUEST` (about 140 MiB), plus what arrives between two
measurements (docs/server.md, "Limits"; `python -m bench server --flood` measures it).
Token holders are never dropped for what they send within the protocol.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import time
from dataclasses import dataclass
from typing import Any

import zmq
from zmq.utils.monitor import parse_monitor_message

from .submission import MAX_REQUEST_BYTES

RECEIVE_QUEUE = 1  # whole messages libzmq queues per connection (RCVHWM; 0 would be unlimited)
RECEIVE_BUFFER = 256 * 1024  # the kernel's receive buffer per connection (SO_RCVBUF)
MAX_UNTRUSTED = 16
UNTRUSTED_GRACE_S = 30.0
UNTRUSTED_BYTES = 64 * 1024
UNTRUSTED_REQUESTS = 16
DROP_DELAY_S = 0.1  # lets the refusal that ends a connection leave before it is dropped
#: Bytes a connection may have sent that the server has not taken out of libzmq yet: a queued
#: and a decoding request plus the kernel's buffer (which Linux doubles). Only a peer that
#: breaks the protocol (a multipart message that never ends, which libzmq would buffer without
#: bound) gets past it, and is dropped, token or not.
PEER_IN_FLIGHT = (RECEIVE_QUEUE + 1) * MAX_REQUEST_BYTES + 2 * RECEIVE_BUFFER + 64 * 1024
#: One request waiting to be read, as a client's first request does on a busy server.
ONE_REQUEST = MAX_REQUEST_BYTES + 2 * RECEIVE_BUFFER + 64 * 1024
#: All untrusted connections together: past it, the one with most in flight beyond
#: `ONE_REQUEST` is dropped (a new client whose first request waits is never dropped for it).
UNTRUSTED_IN_FLIGHT = 64 * 1024 * 1024
_SHORT_FRAME = 255  # ZMTP 3: a frame up to this size has a 1-byte length, others 8 bytes
_HANDSHAKE = 4096  # greeting and READY, with room for its properties

log = logging.getLogger("napari_hcs.bridge.server")

_EVENTS = zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED | zmq.EVENT_CLOSED
_TCP_INFO = getattr(socket, "TCP_INFO", None)  # Linux
_BYTES_RECEIVED = 128  # offset of tcpi_bytes_received in struct tcp_info (Linux 4.1+)


@dataclass
class Peer:
    fd: int
    link: socket.socket | None  # a duplicate of libzmq's descriptor (None: not ours any more)
    since: float
    trusted: bool = False
    taken: int = _HANDSHAKE  # bytes the server has received from libzmq (and the handshake)
    refused: int = 0
    refused_bytes: int = 0
    drop_at: float | None = None

    def in_flight(self) -> int:
        """Bytes the kernel received from the peer that the server has not taken yet."""
        if self.link is None or _TCP_INFO is None:
            return 0
        try:
            info = self.link.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, _BYTES_RECEIVED + 8)
        except OSError:
            return 0
        if len(info) < _BYTES_RECEIVED + 8:  # a kernel without the field
            return 0
        return max(0, int.from_bytes(info[_BYTES_RECEIVED:_BYTES_RECEIVED + 8], sys.byteorder)
                   - self.taken)

    def close(self) -> None:
        if self.link is not None:
            self.link.close()
            self.link = None


def limit_socket(sock: zmq.Socket) -> None:
    """The per-connection bounds, set before the socket binds."""
    sock.setsockopt(zmq.MAXMSGSIZE, MAX_REQUEST_BYTES)  # bigger messages: libzmq drops the peer
    sock.setsockopt(zmq.RCVHWM, RECEIVE_QUEUE)
    sock.setsockopt(zmq.RCVBUF, RECEIVE_BUFFER)


class PeerGuard:
    """The connections of one ROUTER socket (module docstring); loop thread only."""

    def __init__(self, sock: zmq.Socket) -> None:
        self.monitor = sock.get_monitor_socket(_EVENTS)
        self.local_port: int | None = None  # set once the socket is bound
        self.peers: dict[int, Peer] = {}
        self.dropped = 0

    def close(self) -> None:
        for peer in self.peers.values():
            peer.close()
        self.peers.clear()
        self.monitor.close()

    # -- what libzmq reports ----------------------------------------------------------------
    def follow(self) -> None:
        """Take in the monitor's reports (connections accepted and gone), measure what each
        connection has in flight, and drop what is due."""
        while self.monitor.poll(0):
            event = parse_monitor_message(self.monitor.recv_multipart())
            fd = event["value"]
            gone = self.peers.pop(fd, None)
            if gone is not None:
                gone.close()
            if event["event"] == zmq.EVENT_ACCEPTED:
                self.peers[fd] = Peer(fd, self._link(fd), time.monotonic())
                self._make_room()
        self._measure()
        self._drop_due()

    def _link(self, fd: int) -> socket.socket | None:
        # Checked to be a TCP socket on the server's port: a descriptor that libzmq closed and
        # the process reused since is never touched.
        try:
            link = socket.socket(fileno=os.dup(fd))
        except OSError:
            return None
        try:
            if link.type == socket.SOCK_STREAM and link.getsockname()[1] == self.local_port:
                return link
        except (OSError, IndexError, TypeError):
            pass
        link.close()
        return None

    def _make_room(self) -> None:
        untrusted = sorted(self._untrusted(), key=lambda p: p.since)
        for peer in untrusted[:max(0, len(untrusted) - MAX_UNTRUSTED)]:
            peer.drop_at = time.monotonic()

    def _measure(self) -> None:
        now = time.monotonic()
        total, heaviest = 0, None
        for peer in self.peers.values():
            if peer.drop_at is not None:
                continue
            flight = peer.in_flight()
            if flight > PEER_IN_FLIGHT:
                peer.drop_at = now
            elif not peer.trusted:
                if now - peer.since > UNTRUSTED_GRACE_S:
                    peer.drop_at = now
                total += flight
                if flight > ONE_REQUEST and (heaviest is None or flight > heaviest[0]):
                    heaviest = (flight, peer)
        if total > UNTRUSTED_IN_FLIGHT and heaviest is not None:
            heaviest[1].drop_at = now

    def _drop_due(self) -> None:
        now = time.monotonic()
        for peer in list(self.peers.values()):
            if peer.drop_at is not None and now >= peer.drop_at:
                # shutdown() ends the connection for libzmq too: it closes its descriptor and
                # frees what it queued for it.
                if peer.link is not None:
                    with contextlib.suppress(OSError):
                        peer.link.shutdown(socket.SHUT_RDWR)
                peer.close()
                del self.peers[peer.fd]
                self.dropped += 1

    def _untrusted(self) -> list[Peer]:
        return [p for p in self.peers.values() if not p.trusted and p.drop_at is None]

    # -- what peers send --------------------------------------------------------------------
    def admits(self, fd: int | None, sizes: list[int]) -> bool:
        """Count a received message (its frames' sizes); False for a connection being dropped
        (its messages are discarded unread)."""
        peer = self.peers.get(fd) if fd is not None else None
        if peer is None:
            return True
        peer.taken += sum(n + (2 if n <= _SHORT_FRAME else 9) for n in sizes)
        return peer.drop_at is None

    def trust(self, fd: int | None) -> None:
        peer = self.peers.get(fd) if fd is not None else None
        if peer is not None:
            peer.trusted, peer.drop_at = True, None

    def refused(self, fd: int | None, size: int) -> None:
        """A request from `fd` that did not carry the token (or could not be read)."""
        peer = self.peers.get(fd) if fd is not None else None
        if peer is None or peer.trusted:
            return
        peer.refused += 1
        peer.refused_bytes += size
        if peer.refused > UNTRUSTED_REQUESTS or peer.refused_bytes > UNTRUSTED_BYTES:
            peer.drop_at = time.monotonic() + DROP_DELAY_S

    def untrusted_count(self) -> int:
        return len(self._untrusted())


def source_fd(frame: zmq.Frame) -> int | None:
    """The descriptor of the connection a received frame came from (None where unknown)."""
    try:
        fd = frame.get(zmq.SRCFD)
    except (zmq.ZMQError, AttributeError):
        return None
    return fd if isinstance(fd, int) and fd >= 0 else None


def frame_buffer(frame: Any) -> Any:
    """A received frame's bytes in place (no copy)."""
    return frame.buffer if isinstance(frame, zmq.Frame) else frame


def frame_bytes(frame: Any) -> bytes:
    """A received frame's bytes, copied."""
    return frame.bytes if isinstance(frame, zmq.Frame) else frame


class RateLimitedWarning:
    """A warning at most once a second, with how many times it happened (a flood of refused
    requests must not become a flood of log lines)."""

    def __init__(self, message: str) -> None:
        self.message, self.pending, self.last = message, 0, 0.0

    def count(self) -> None:
        self.pending += 1
        if time.monotonic() - self.last >= 1.0:
            log.warning(self.message, self.pending)
            self.pending, self.last = 0, time.monotonic()
