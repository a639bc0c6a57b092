"""Streaming results to viewers: a PUSH publisher for runs, a PULL receiver for viewers.

The run must never wait on a viewer. The publisher has a small high-water mark and a send
timeout; when a send times out it drops the message, counts it, and sends without blocking
(dropping while the queue is full) until a send succeeds again, so a viewer that goes away costs
the run one timeout, not one per message. Messages follow `bridge.protocol` (docs/wire.md).
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import zmq

from . import display, protocol

log = logging.getLogger(__name__)

DEFAULT_HWM = 10
DEFAULT_SEND_TIMEOUT_MS = 2000
CLOSE_GRACE_S = 0.5  # how long `close` leaves a viewer to read what was sent last (see there)


def _bindable(address: str) -> str:
    # libzmq's wildcard port is "*"; accept the familiar port 0 for "pick a free one".
    return address[: -len(":0")] + ":*" if address.endswith(":0") else address


class StreamPublisher:
    """Sends wells' results to one viewer over PUSH.

    `bind=False` (the default, `--stream`) connects to a viewer that binds PULL, as napari does;
    `bind=True` (`--stream-bind`) binds so a viewer can connect, as the Fiji plugin does.
    """

    def __init__(
        self,
        address: str,
        *,
        bind: bool = False,
        hwm: int = DEFAULT_HWM,
        send_timeout_ms: int = DEFAULT_SEND_TIMEOUT_MS,
        image_name: str = "image",
        run: str | None = None,
        pixel_size_um: float | None = None,
        context: zmq.Context | None = None,
    ) -> None:
        self.image_name = image_name
        self.pixel_size_um = pixel_size_um
        self.run = run
        self.sent = 0
        self.dropped = 0
        self._send_timeout_ms = send_timeout_ms
        self._viewer_gone = False
        self._peer_seen = False
        self._closed = False
        self._last_sent = 0.0
        # The executor may report results and progress from different threads; zmq sockets
        # are not thread-safe.
        self._lock = threading.Lock()
        # Our own context unless given one: terminating it at close waits (up to the linger)
        # until queued messages are out. The global instance is never terminated, so a process
        # that exits right after its last send (a run's final status) would drop them.
        self._own_context = context is None
        self._context = ctx = context or zmq.Context()
        self._socket = ctx.socket(zmq.PUSH)
        self._socket.setsockopt(zmq.SNDHWM, hwm)
        self._socket.setsockopt(zmq.SNDTIMEO, send_timeout_ms)
        self._socket.setsockopt(zmq.LINGER, send_timeout_ms)
        # JeroMQ 0.3.6 peers never raise HANDSHAKE_SUCCEEDED; a TCP accept/connect is enough:
        # a send then waits (up to the timeout) for the handshake to finish.
        self._monitor = self._socket.get_monitor_socket(
            zmq.EVENT_ACCEPTED | zmq.EVENT_CONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED)
        try:
            if bind:
                self._socket.bind(_bindable(address))
            else:
                self._socket.connect(address)
        except zmq.ZMQError as exc:
            self._close_sockets(0)
            verb = "bind" if bind else "connect to"
            raise OSError(f"cannot {verb} stream address {address!r}: {exc}") from None
        self.address = self._socket.getsockopt_string(zmq.LAST_ENDPOINT) if bind else address

    def wait_for_peer(self, timeout_s: float) -> bool:
        """Wait until a viewer has connected (or we connected to it); False after `timeout_s`."""
        deadline_ms = int(timeout_s * 1000)
        if not self._peer_seen and self._monitor.poll(deadline_ms):
            self._monitor.recv_multipart()  # any subscribed event means a viewer is there
            self._peer_seen = True
        return self._peer_seen

    def send(self, frames: list) -> bool:
        """Send one encoded message (`protocol.encode_*`); False if it was dropped."""
        with self._lock:
            if self._closed:
                return False
            flags = zmq.NOBLOCK if self._viewer_gone else 0
            try:
                self._socket.send_multipart(frames, flags=flags, copy=False)
            except zmq.Again:
                self.dropped += 1
                if not self._viewer_gone:
                    log.warning("stream %s: no viewer took a message within %d ms; dropping "
                                "messages until one does", self.address, self._send_timeout_ms)
                self._viewer_gone = True
                return False
            if self._viewer_gone:
                log.info("stream %s: viewer is receiving again (%d messages dropped so far)",
                         self.address, self.dropped)
                self._viewer_gone = False
            self.sent += 1
            self._last_sent = time.monotonic()
            return True

    def _extra(self) -> dict:
        return {"run": self.run} if self.run is not None else {}

    def send_well_result(self, result: Any) -> None:
        """Send a finished well: image, each labels, rois and table, then its status.

        `result` is the executor's WellResult. Never raises for a missing or slow viewer;
        an unencodable output is logged and skipped so the status still goes out.
        """
        well, extra = result.well, self._extra()
        pixel_size = getattr(result, "pixel_size_um", None) or self.pixel_size_um
        parts: list[tuple[str, Callable[[], list]]] = []
        if getattr(result, "image", None) is not None:
            def encode_image() -> list:
                image, names = protocol.to_host_array(result.image), result.channel_names or None
                return protocol.encode_image(
                    image, name=self.image_name, well=well, channel_names=names,
                    pixel_size_um=pixel_size, **display.image_hints(image, names), **extra)
            parts.append((self.image_name, encode_image))
        for name, labels in (getattr(result, "labels", None) or {}).items():
            parts.append((name, lambda n=name, a=labels: protocol.encode_labels(
                a, name=n, well=well, pixel_size_um=pixel_size, **extra)))
        for name, polygons in (getattr(result, "rois", None) or {}).items():
            parts.append((name, lambda n=name, p=polygons: protocol.encode_rois(
                p, name=n, well=well, labels=getattr(p, "labels", None),
                pixel_size_um=pixel_size, **extra)))
        tables = dict(getattr(result, "tables", None) or {})
        if getattr(result, "positions", None) is not None:
            tables.setdefault("positions", result.positions)
        for name, table in tables.items():
            parts.append((name, lambda n=name, t=table: protocol.encode_table(
                t, name=n, well=well, **_units(t), **extra)))
        for name, encode in parts:
            try:
                frames = encode()
            except protocol.ProtocolError as exc:
                log.error("stream: not sending %s of well %s: %s", name, well, exc)
                continue
            self.send(frames)
        self.send(protocol.encode_status(well=well, status=result.status,
                                          error=getattr(result, "error", None), **extra))

    def send_progress(self, event: Any) -> None:
        """Send one executor ProgressEvent (`.well, .step, .index, .total, .state`)."""
        self.send(protocol.encode_progress(well=event.well, step=event.step, index=event.index,
                                            total=event.total, state=event.state,
                                            **self._extra()))

    def _close_sockets(self, linger_ms: int) -> None:
        self._socket.disable_monitor()
        self._monitor.close(linger=0)
        self._socket.close(linger=linger_ms)
        if self._own_context:
            self._context.term()  # returns once queued messages are sent or the linger ends

    def close(self, linger_ms: int | None = None) -> None:
        """Close, waiting up to `linger_ms` (default: the send timeout) to flush queued sends."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            linger = self._send_timeout_ms if linger_ms is None else linger_ms
            if not self._viewer_gone and self.sent:
                # A viewer reads the last messages after they reach it, and some (JeroMQ 0.3,
                # Fiji's) drop what they have not read yet when the connection ends: a run
                # that exits right after its last send (its final status) would lose it.
                grace = self._last_sent + min(CLOSE_GRACE_S, linger / 1000) - time.monotonic()
                if grace > 0:
                    time.sleep(grace)
            self._close_sockets(0 if self._viewer_gone else linger)
        if self.dropped:
            log.warning("stream %s: %d of %d messages dropped", self.address, self.dropped,
                        self.dropped + self.sent)

    def __enter__(self) -> StreamPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _units(table: Any) -> dict:
    """A table's declared column units (`executor/tables.py`) as a header field, if any."""
    units = dict(getattr(table, "attrs", {}).get("units") or {})
    return {"units": {str(k): str(v) for k, v in units.items()}} if units else {}


class StreamReceiver:
    """Receives protocol messages on a background thread and hands them to `on_message`.

    Binds a PULL socket by default (`tcp://127.0.0.1:0` picks a free port; `.address` is the
    real one after `start()`); `connect=True` connects to a publisher that binds instead.
    Invalid messages are logged and counted in `.rejected`, never raised. Without `on_message`,
    messages go to the queue `.messages`. `on_message` runs on the receiver thread; a GUI must
    hand the message to its own thread.
    """

    def __init__(
        self,
        address: str = "tcp://127.0.0.1:0",
        on_message: Callable[[protocol.Message], Any] | None = None,
        *,
        connect: bool = False,
        hwm: int = DEFAULT_HWM,
        max_bytes: int = protocol.MAX_MESSAGE_BYTES,
        context: zmq.Context | None = None,
    ) -> None:
        self.address = address
        self.messages: queue.Queue[protocol.Message] = queue.Queue()
        self.on_message = on_message or self.messages.put
        self.received = 0
        self.rejected = 0
        self.last_error: str | None = None
        self._connect = connect
        self._hwm = hwm
        self._max_bytes = max_bytes
        self._context = context or zmq.Context.instance()
        self._socket: zmq.Socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> StreamReceiver:
        if self._thread is not None:
            return self
        sock = self._context.socket(zmq.PULL)
        sock.setsockopt(zmq.RCVHWM, self._hwm)
        # libzmq drops a peer that sends a bigger message before it is buffered in memory.
        sock.setsockopt(zmq.MAXMSGSIZE, self._max_bytes)
        sock.setsockopt(zmq.LINGER, 0)
        try:
            if self._connect:
                sock.connect(self.address)
            else:
                sock.bind(_bindable(self.address))
                self.address = sock.getsockopt_string(zmq.LAST_ENDPOINT)
        except zmq.ZMQError as exc:
            sock.close(linger=0)
            raise OSError(f"cannot open stream receiver at {self.address!r}: {exc}") from None
        self._socket = sock
        self._stop.clear()
        # The socket moves to the thread here and is touched only there until stop() joins it.
        self._thread = threading.Thread(target=self._loop, name=f"hcs-stream {self.address}",
                                        daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        sock = self._socket
        assert sock is not None
        while not self._stop.is_set():
            try:
                if not sock.poll(100):
                    continue
                frames = sock.recv_multipart(copy=False)
            except zmq.ZMQError as exc:
                log.error("stream receiver %s: %s", self.address, exc)
                break
            self.handle(frames)

    def handle(self, frames: Sequence[Any]) -> protocol.Message | None:
        """Decode one multipart message and deliver it; None if it was rejected."""
        try:
            message = protocol.decode(frames, max_bytes=self._max_bytes)
        except Exception as exc:  # ProtocolError; anything else is a decoder bug: never fatal
            self.rejected += 1
            self.last_error = str(exc)[:500]
            if isinstance(exc, protocol.ProtocolError):
                log.warning("stream receiver %s: rejected a message: %s", self.address,
                            self.last_error)
            else:
                log.exception("stream receiver %s: could not decode a message", self.address)
            return None
        self.received += 1
        try:
            self.on_message(message)
        except Exception:  # a broken sink must not end the stream
            log.exception("stream receiver %s: handling %s of well %s failed", self.address,
                          message.kind, message.well)
        return message

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None

    def __enter__(self) -> StreamReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def publisher_from_args(
    args: Any, *, image_name: str = "image", wait_for_viewer_s: float = 10.0
) -> StreamPublisher | None:
    """The publisher that `napari-hcs run --stream/--stream-bind` asks for, or None.

    With --stream-bind, waits up to `wait_for_viewer_s` for a viewer to connect, so the first
    wells are not dropped while Fiji is still connecting; the run goes on either way.
    """
    connect_to = getattr(args, "stream", None)
    bind_to = getattr(args, "stream_bind", None)
    if connect_to and bind_to:
        raise ValueError("give --stream (connect) or --stream-bind (bind), not both")
    if not (connect_to or bind_to):
        return None
    publisher = StreamPublisher(connect_to or bind_to, bind=bool(bind_to), image_name=image_name)
    log.info("streaming results %s %s", "from" if bind_to else "to", publisher.address)
    if bind_to and wait_for_viewer_s > 0:
        print(f"napari-hcs: streaming from {publisher.address}; waiting up to "
              f"{wait_for_viewer_s:g} s for a viewer to connect", file=sys.stderr)
        if not publisher.wait_for_peer(wait_for_viewer_s):
            print("napari-hcs: no viewer connected yet; results are dropped until one does",
                  file=sys.stderr)
    return publisher
