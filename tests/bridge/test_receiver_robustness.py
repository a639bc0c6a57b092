"""No message kills a receiver: `decode` raises only ProtocolError, whatever arrives (fuzzed),
and a real `StreamReceiver` logs and drops each malformed message and keeps receiving."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from napari_hcs.bridge import protocol
from napari_hcs.bridge.protocol import ProtocolError, decode
from napari_hcs.bridge.stream import StreamReceiver


def _valid_messages() -> list[list[bytes]]:
    image = np.arange(2 * 8 * 8, dtype=np.uint16).reshape(2, 8, 8)
    labels = np.zeros((8, 8), np.int32)
    labels[2:5, 2:5] = 1
    encoded = [
        protocol.encode_image(image, name="image", well="A01", channel_names=["a", "b"],
                              pixel_size_um=0.5),
        protocol.encode_labels(labels, name="nuclei", well="A01"),
        protocol.encode_rois([np.array([[0, 0], [0, 3], [3, 3.0]])], name="n", well="A01"),
        protocol.encode_table({"label": [1, 2], "well": ["A01", "A01"]}, name="t", well="A01"),
        protocol.encode_progress(well="A01", step="s", index=1, total=2, state="running"),
        protocol.encode_status(well="A01", status="failed", error="x"),
    ]
    return [[bytes(f) for f in frames] for frames in encoded]


VALID = _valid_messages()

# Values of every JSON type (and some hostile ones) to put where a field is expected.
json_junk = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=8) | st.sampled_from(["x", "image", "uint8", "cyx", "ok", "A01", ""]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=4),
    max_leaves=8)
FIELDS = ("v", "kind", "name", "well", "site", "channel", "shape", "dtype", "axes",
          "channel_names", "pixel_size_um", "n_polygons", "n_vertices", "buffers", "n_rows",
          "columns", "strings", "step", "index", "total", "state", "status", "error", "run",
          "channel_colors", "contrast_limits")


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(VALID))), st.dictionaries(st.sampled_from(FIELDS), json_junk,
                                                            max_size=4),
       st.lists(st.sampled_from(FIELDS), max_size=2), st.integers(-2, 2),
       st.lists(st.binary(max_size=64), max_size=3))
def test_decode_of_mutated_headers_raises_only_protocol_errors(which, changes, removed,
                                                               frame_delta, extra):
    frames = list(VALID[which])
    header = json.loads(frames[0])
    header.update(changes)
    for key in removed:
        header.pop(key, None)
    body = frames[1:]
    if frame_delta < 0:
        body = body[:frame_delta]
    elif frame_delta > 0:
        body = body + extra[:frame_delta]
    try:
        message = decode([json.dumps(header).encode(), *body])
    except ProtocolError:
        return
    # Whatever passed is safe to index the way receivers do.
    if message.kind in ("image", "labels"):
        assert message.data.size >= 1
    elif message.kind == "rois":
        message.polygons()
    elif message.kind == "table":
        message.to_dataframe()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.lists(st.binary(max_size=32), max_size=3))
def test_decode_of_random_bytes_raises_only_protocol_errors(head, rest):
    with pytest.raises(ProtocolError):
        decode([head, *rest])


def _header(frames: list[bytes], **changes) -> list[bytes]:
    header = json.loads(frames[0])
    header.update(changes)
    return [json.dumps(header).encode(), *frames[1:]]


ROIS, TABLE, IMAGE = VALID[2], VALID[3], VALID[0]
MALFORMED = {
    "rois n_polygons 'x'": _header(ROIS, n_polygons="x"),
    "rois n_polygons null": _header(ROIS, n_polygons=None),
    "rois n_polygons true": _header(ROIS, n_polygons=True),
    "table name is a list": _header(TABLE, name=["a", "b"]),
    "list inside columns": _header(TABLE, columns=["label", ["well"]]),
    "strings not lists": _header(TABLE, strings={"well": "A01"}),
    "100k-deep JSON": [b"[" * 100_000 + b"]" * 100_000],
    "100k-deep JSON in a field": [json.dumps({**json.loads(IMAGE[0])})[:-1].encode()
                                  + b', "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
                                  IMAGE[1]],
    "too few buffers": IMAGE[:1],
    "too many buffers": [*IMAGE, b"\0" * 8],
    "buffer of the wrong size": [IMAGE[0], IMAGE[1][:-2]],
    "huge shape": _header(IMAGE, shape=[1, 2**40, 2**40]),
    "zero-size huge shape": _header(IMAGE, shape=[1, 0, 2**62]),
    "shape of floats": _header(IMAGE, shape=[2, 8.0, 8]),
    "duplicate buffer names": _header(ROIS, buffers=[json.loads(ROIS[0])["buffers"][0]] * 3),
    "version true": _header(IMAGE, v=True),
    "not UTF-8": [b"\xff\xfe\x00", IMAGE[1]],
    "NaN pixel size": [IMAGE[0].replace(b'"pixel_size_um": 0.5', b'"pixel_size_um": NaN'),
                       IMAGE[1]],
}


def test_a_real_receiver_drops_every_malformed_message_and_keeps_running():
    with StreamReceiver() as receiver:
        push = zmq.Context.instance().socket(zmq.PUSH)
        push.setsockopt(zmq.LINGER, 1000)
        push.connect(receiver.address)
        try:
            for frames in MALFORMED.values():
                push.send_multipart(frames)
            push.send_multipart(VALID[1])  # a good message after all of them still arrives
            message = receiver.messages.get(timeout=20)
        finally:
            push.close()
        assert message.kind == "labels" and message.well == "A01"
        deadline = time.monotonic() + 10
        while receiver.rejected < len(MALFORMED) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert receiver.rejected == len(MALFORMED) and receiver.received == 1
        assert receiver._thread is not None and receiver._thread.is_alive()


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_each_malformed_message_is_one_protocol_error(name):
    with pytest.raises(ProtocolError):
        decode(MALFORMED[name])
