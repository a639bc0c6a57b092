"""Hostile requests at the socket level: wrong, missing or odd tokens, malformed frames, bad
`since`, oversize and heavy requests, slow-loris peers. Every malformed request gets exactly one
error reply, nothing is logged as a crash, and other clients stay answered."""

from __future__ import annotations

import json
import logging
import socket
import struct
import threading
import time
from urllib.parse import urlparse

import pytest
from attack_arena import TOKEN, RawPeer, assert_no_secret, fresh, spec
from attack_functions import attack_tag

from napari_hcs.bridge.client import ExecutionClient
from napari_hcs.bridge.server import MAX_VALIDATING
from napari_hcs.engine.pipeline import Pipeline, Step
from napari_hcs.engine.plate.generator import write_sample_plate

MiB = 1024 * 1024
IDENTITY = Pipeline([Step((attack_tag, {"note": "x"}), name="identity")], name="identity")


@pytest.fixture(scope="module")
def plate(arena):
    return write_sample_plate(arena.root / "plate", "imagexpress", spec())


@pytest.fixture
def no_crash_logged(caplog):
    """The server logs refusals as warnings at most: no tracebacks, no errors."""
    caplog.set_level(logging.WARNING, logger="napari_hcs")
    yield
    crashes = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not crashes, [r.getMessage() for r in crashes]


def one_reply(raw: RawPeer) -> dict:
    replies = raw.replies()
    assert len(replies) == 1, replies
    assert replies[0]["ok"] is False
    assert_no_secret(replies[0])
    return replies[0]


def request(**fields) -> bytes:
    return json.dumps({"v": 1, "id": "r1", "token": TOKEN, **fields}).encode()


@pytest.mark.parametrize("token, reason", [
    (None, "missing or wrong token"),
    ("", "missing or wrong token"),
    ("not-the-token", "missing or wrong token"),
    (TOKEN[:-1], "missing or wrong token"),
    (TOKEN + "x", "missing or wrong token"),
    ("\udc80" + TOKEN[1:], "missing or wrong token"),  # a lone surrogate, JSON-escaped
    ("tökén-ünïcødé-\U0001f600-0123456789", "missing or wrong token"),
    (12345, "missing or wrong token"),
    ([TOKEN], "missing or wrong token"),
    ({"token": TOKEN}, "missing or wrong token"),
])
@pytest.mark.parametrize("op", ["ping", "list", "submit", "cancel"])
def test_wrong_or_missing_tokens_are_refused_cleanly(raw, client, plate, token, reason, op,
                                                     no_crash_logged):
    message = {"v": 1, "id": "t1", "op": op, "pipeline": {}, "plate": str(plate),
               "out": str(plate.parent / "out-token"), "run": "x"}
    if token is not None:
        message["token"] = token
    raw.send(json.dumps(message).encode())
    assert one_reply(raw) == {"v": 1, "id": "t1", "ok": False, "error": reason}
    assert client.list_runs() == []


def test_raw_surrogate_bytes_in_a_token_are_refused_cleanly(raw, no_crash_logged):
    raw.send(b'{"v": 1, "id": "s1", "op": "ping", "token": "\xed\xb2\x80abc"}')
    assert "not UTF-8 JSON" in one_reply(raw)["error"]


@pytest.mark.parametrize("frames, reason", [
    ([b"\xff not json"], "not UTF-8 JSON"),
    ([b""], "not UTF-8 JSON"),
    ([b"[1, 2]"], "must be a JSON object"),
    ([b"null"], "must be a JSON object"),
    ([b"{}", b"extra"], "one JSON frame"),
    ([b"{}", b"", b""], "one JSON frame"),
    ([b'{"v": 1, "token": 1e999}'], "missing or wrong token"),
    ([b'{"v": NaN}'], "not UTF-8 JSON"),
    # over 64 KiB without the token's text: refused unread (admission), not parsed
    ([b"[" * 100_000 + b"]" * 100_000], "missing or wrong token"),
    ([b"[" * 30_000 + b"]" * 30_000], "nests 30000 levels deep"),
    ([b'{"v": 1, "x": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"], "levels deep"),
    ([b"\x80\x04\x95\x15\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x94"], "not UTF-8 JSON"),
    ([json.dumps({"v": 99, "token": TOKEN, "op": "ping"}).encode()], "version"),
    ([json.dumps({"v": True, "token": TOKEN, "op": "ping"}).encode()], "version"),
    ([json.dumps({"v": 1, "token": TOKEN, "op": "explode"}).encode()], "unknown op"),
    ([json.dumps({"v": 1, "token": TOKEN, "op": ["ping"]}).encode()], "unknown op"),
    ([json.dumps({"v": 1, "token": TOKEN, "op": "status", "run": ["x"]}).encode()], "no run"),
    ([json.dumps({"v": 1, "token": TOKEN, "op": "cancel", "run": {"a": 1}}).encode()], "no run"),
    ([json.dumps({"v": 1, "token": TOKEN, "op": "submit", "pipeline": "x" * 100}).encode()],
     "pipeline document"),
])
def test_every_malformed_request_gets_one_error_reply(raw, frames, reason, no_crash_logged):
    raw.send(*frames)
    assert reason in one_reply(raw)["error"]


@pytest.mark.parametrize("request_id, echoed", [
    ("short", "short"), (7, 7), ("x" * 10_000, None), ({"nested": [1, 2]}, None), (1.5, None),
])
def test_the_reply_echoes_only_a_plain_request_id(raw, request_id, echoed):
    raw.send(json.dumps({"v": 1, "id": request_id, "token": TOKEN, "op": "explode"}).encode())
    reply = one_reply(raw)
    assert reply["id"] == echoed and len(json.dumps(reply)) < 500


@pytest.mark.parametrize("since", ["5", 1.5, -1, True, None, [0], {"a": 0}])
def test_subscribe_with_a_bad_since_answers_once_and_does_not_subscribe(
        raw, client, plate, arena, since, no_crash_logged):
    run = client.submit(IDENTITY, plate, fresh(arena, "since"), wells=["A01"])
    raw.send(request(op="subscribe", run=run, since=since))
    assert "`since` must be a non-negative integer" in one_reply(raw)["error"]
    assert client.wait(run, timeout_s=120)["status"] == "ok"
    assert raw.replies(timeout_s=0.5) == []  # no events: it never subscribed


def test_subscribe_replays_from_since(raw, client, plate, arena):
    run = client.submit(IDENTITY, plate, fresh(arena, "replay"), wells=["A01"])
    total = len(list(client.events(run, timeout_s=120)))
    raw.send(request(op="subscribe", run=run, since=total - 2))
    replies = raw.replies()
    assert replies[0]["ok"] is True
    assert [r["seq"] for r in replies[1:]] == [total - 1, total]


def test_an_oversized_request_is_dropped_by_the_socket(server, raw):
    raw.send(b"x" * (9 * MiB))
    assert raw.replies(timeout_s=1.0) == []
    with ExecutionClient(server.address, TOKEN, timeout_s=10) as client:
        assert client.ping()["ok"]


def _heavy_requests(plate) -> dict[str, bytes]:
    """Authenticated ~8 MiB requests that cost the most to look at."""
    def submit(pipeline) -> bytes:
        return request(op="submit", pipeline=pipeline, plate=str(plate), out=str(plate))

    def document(parameters) -> dict:
        return {"format": "napari-hcs-pipeline", "version": 1, "steps": [
            {"func": {"function": "attack_tag", "parameters": parameters}}]}

    items = 49_000  # just under the request's item limit
    return {
        "long strings": submit({"format": "napari-hcs-pipeline", "version": 1, "steps": [
            {"func": {"function": "attack_tag", "parameters": {"note": "x" * 110_000}}}] * 70}),
        "many small items": submit(document({"note": [0] * 2_700_000})),
        "escapes": request(op="submit", plate=str(plate))[:-1]
        + b', "e": "' + b"\\u0041" * (8 * MiB // 6 - 100) + b'"}',
        "floats under the item limit": submit(document(
            {"note": [1.2345678901234567e-300] * items, "pad": "p" * (6 * MiB)})),
        "deep under the item limit": request(op="ping", pad="p" * (8 * MiB - 300_000))[:-1]
        + b', "deep": ' + b"[" * 40_000 + b"]" * 40_000 + b"}",
    }


def test_heavy_requests_do_not_stall_other_clients(server, plate, capsys):
    heavy = _heavy_requests(plate)
    assert all(7 * MiB < len(data) <= 8 * MiB for data in heavy.values()), {
        k: len(v) for k, v in heavy.items()}
    latencies: list[float] = []
    done = threading.Event()
    replies: dict[str, list] = {}

    def ping_all_along() -> None:
        with ExecutionClient(server.address, TOKEN, timeout_s=10) as pinger:
            while not done.is_set():
                start = time.perf_counter()
                pinger.ping()
                latencies.append(time.perf_counter() - start)
                time.sleep(0.01)

    pinger = threading.Thread(target=ping_all_along)
    pinger.start()
    try:
        time.sleep(0.2)
        for name, data in heavy.items():
            peer = RawPeer(server.address)
            try:
                for _ in range(2):
                    peer.send(data)
                    replies.setdefault(name, []).extend(peer.replies(timeout_s=30))
            finally:
                peer.close()
    finally:
        done.set()
        pinger.join(timeout=30)
    for name, got in replies.items():
        assert len(got) == 2 and not any(r["ok"] for r in got), (name, got)
    worst = max(latencies)
    with capsys.disabled():
        print(f"\nping latency under 8 MiB requests: {len(latencies)} pings, median "
              f"{sorted(latencies)[len(latencies) // 2] * 1000:.1f} ms, max {worst * 1000:.1f} ms")
    assert worst < 1.0  # the target is ~0.1 s; a loaded 2-core machine gets 10x margin


def test_too_many_heavy_requests_at_once_are_told_to_wait(server, plate):
    data = _heavy_requests(plate)["long strings"]
    peers = [RawPeer(server.address) for _ in range(MAX_VALIDATING + 4)]
    try:
        for peer in peers:
            peer.send(data)
        answers = [peer.replies(timeout_s=30) for peer in peers]
    finally:
        for peer in peers:
            peer.close()
    assert all(len(a) == 1 and a[0]["ok"] is False for a in answers), answers
    errors = [a[0]["error"] for a in answers]
    assert all("busy" in e or "longer than" in e for e in errors), errors
    with ExecutionClient(server.address, TOKEN, timeout_s=10) as client:
        assert client.ping()["ok"]


# -- slow-loris: raw TCP peers that speak ZMTP 3.0 only partly ---------------------------------
GREETING = b"\xff" + b"\0" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\0") + b"\0" * 32


def _ready(socket_type: bytes) -> bytes:
    body = b"\x05READY" + b"\x0bSocket-Type" + struct.pack(">I", len(socket_type)) + socket_type
    return b"\x04" + bytes([len(body)]) + body


def _tcp(address: str) -> socket.socket:
    url = urlparse(address)
    peer = socket.create_connection((url.hostname, url.port), timeout=5)
    peer.settimeout(5)
    return peer


def test_slow_loris_peers_do_not_stall_other_clients(server):
    stalled = []
    try:
        for i in range(12):
            peer = _tcp(server.address)
            if i % 3 == 0:  # half a greeting, then silence
                peer.sendall(GREETING[:5])
            elif i % 3 == 1:  # a frame that announces 7 MiB and never ends
                peer.sendall(GREETING + _ready(b"DEALER"))
                peer.sendall(b"\x02" + struct.pack(">Q", 7 * MiB) + b"{" * 100)
            else:  # garbage instead of ZMTP
                peer.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 10)
            stalled.append(peer)
        with ExecutionClient(server.address, TOKEN, timeout_s=10) as client:
            for _ in range(10):
                start = time.perf_counter()
                assert client.ping()["ok"]
                assert time.perf_counter() - start < 1.0
                for peer in stalled[1::3]:  # keep trickling
                    try:
                        peer.sendall(b"[" * 10)
                    except OSError:
                        pass  # libzmq may have dropped it: also fine
                time.sleep(0.05)
    finally:
        for peer in stalled:
            peer.close()
