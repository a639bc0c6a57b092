"""Streaming over real sockets on 127.0.0.1: publisher, receiver, and viewers that go away."""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import zmq

from napari_hcs.bridge import protocol
from napari_hcs.bridge.stream import StreamPublisher, StreamReceiver, publisher_from_args


def well_result(well: str, size: int = 64, status: str = "ok") -> SimpleNamespace:
    """The attributes of the executor's WellResult that the publisher reads."""
    rng = np.random.default_rng(abs(hash(well)) % 1000)
    labels = np.zeros((size, size), np.int32)
    labels[4:12, 4:12] = 1
    labels[20:30, 20:26] = 2
    return SimpleNamespace(
        well=well, status=status, error=None if status == "ok" else "step 1: failed",
        image=rng.integers(0, 60000, (2, size, size), dtype=np.uint16),
        channel_names=["1", "2"],
        labels={"nuclei": labels},
        rois={"nuclei": [np.array([[4, 4], [4, 11], [11, 11], [11, 4]], float),
                         np.array([[20, 20], [29, 20], [29, 25]], float)]},
        tables={"nuclei": pd.DataFrame({"well": [well, well], "label": [1, 2],
                                        "area": [64.0, 60.0]})},
        positions=pd.DataFrame({"well": [well], "site": [1], "y": [0.0], "x": [0.0]}),
    )


def drain(receiver: StreamReceiver, count: int, timeout: float = 10.0) -> list:
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        try:
            got.append(receiver.messages.get(timeout=0.1))
        except Exception:
            continue
    return got


def test_well_result_arrives_as_image_labels_rois_tables_then_status():
    with StreamReceiver() as receiver, StreamPublisher(receiver.address, run="r7") as publisher:
        assert receiver.address.startswith("tcp://127.0.0.1:") and not receiver.address.endswith(
            ":0")
        result = well_result("B02")
        publisher.send_well_result(result)
        publisher.send_progress(SimpleNamespace(well="B02", step="segment", index=1, total=2,
                                                state="done"))
        got = drain(receiver, 7)
    assert [(m.kind, m.name) for m in got] == [
        ("image", "image"), ("labels", "nuclei"), ("rois", "nuclei"), ("table", "nuclei"),
        ("table", "positions"), ("status", "status"), ("progress", "progress")]
    image, labels, rois, table, positions, status, _ = got
    np.testing.assert_array_equal(image.data, result.image)
    assert image.header["channel_names"] == ["1", "2"] and image.header["run"] == "r7"
    np.testing.assert_array_equal(labels.data, result.labels["nuclei"])
    assert len(rois.polygons()) == 2
    pd.testing.assert_frame_equal(table.to_dataframe(), result.tables["nuclei"])
    assert positions.to_dataframe()["site"].tolist() == [1]
    assert status.header["status"] == "ok" and status.well == "B02"
    assert publisher.sent == 7 and publisher.dropped == 0


def test_a_per_well_profile_with_thousands_of_columns_streams():
    # tables/wells.parquet of profile_cells: counts + median/MAD of every feature of three
    # object sets (~3,900 columns with 2 channels, ~10,000 with 5): one buffer per column.
    rng = np.random.default_rng(0)
    columns = {"well": ["B02"], "label": [0]}
    columns.update({f"Cells_Texture_Feature{i}_median": rng.random(1) for i in range(9000)})
    profile = pd.DataFrame(columns)
    result = well_result("B02")
    result.tables = {"wells": profile}
    with StreamReceiver() as receiver, StreamPublisher(receiver.address) as publisher:
        publisher.send_well_result(result)
        got = {m.name: m for m in drain(receiver, 6)}
    assert "wells" in got, sorted(got)
    pd.testing.assert_frame_equal(got["wells"].to_dataframe(), profile)


def test_progress_messages_stream():
    with StreamReceiver() as receiver, StreamPublisher(receiver.address) as publisher:
        for i in range(3):
            publisher.send_progress(SimpleNamespace(well="A01", step="blur", index=i, total=3,
                                                    state="running"))
        got = drain(receiver, 3)
    assert [m.header["index"] for m in got] == [0, 1, 2]


def test_received_arrays_are_views_of_zmq_frames():
    ctx = zmq.Context.instance()
    pull = ctx.socket(zmq.PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    push = ctx.socket(zmq.PUSH)
    push.connect(f"tcp://127.0.0.1:{port}")
    image = np.arange(4 * 256 * 256, dtype=np.float32).reshape(4, 256, 256)
    push.send_multipart(protocol.encode_image(image, name="i", well="A01"), copy=False)
    frames = pull.recv_multipart(copy=False)
    message = protocol.decode(frames)
    frame_array = np.frombuffer(frames[1].buffer, dtype=np.float32)
    assert np.shares_memory(message.data, frame_array)
    np.testing.assert_array_equal(message.data, image)
    push.close(linger=0)
    pull.close(linger=0)


def test_receiver_survives_garbage_and_a_failing_callback():
    seen = []

    def on_message(message):
        seen.append(message)
        if len(seen) == 1:
            raise RuntimeError("sink bug")

    with StreamReceiver(on_message=on_message) as receiver:
        push = zmq.Context.instance().socket(zmq.PUSH)
        push.connect(receiver.address)
        push.send(b"\x80\x04garbage")
        push.send_multipart([b'{"v": 1, "kind": "image"}', b"123"])
        push.send_multipart([b'{"v": 99, "kind": "status", "name": "s", "well": "A01"}'])
        for _ in range(2):
            push.send_multipart(protocol.encode_status(well="A01", status="ok"))
        deadline = time.monotonic() + 10
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        push.close(linger=0)
    assert len(seen) == 2 and receiver.rejected == 3 and receiver.received == 2
    assert "unknown protocol version 99" in receiver.last_error


def test_receiver_drops_oversized_messages():
    with StreamReceiver(max_bytes=4096) as receiver, StreamPublisher(receiver.address) as pub:
        pub.send(protocol.encode_image(np.zeros((1, 128, 128), np.uint8), name="big", well="A01"))
        small = StreamPublisher(receiver.address)  # the big one cost the first peer its link
        small.send(protocol.encode_status(well="A01", status="ok"))
        got = drain(receiver, 1)
        small.close()
    assert [m.kind for m in got] == ["status"]


def test_publisher_without_a_viewer_waits_one_timeout_not_one_per_message():
    with StreamPublisher("tcp://127.0.0.1:0", bind=True, send_timeout_ms=300) as publisher:
        start = time.monotonic()
        for well in ("A01", "A02", "B01", "B02", "C01", "C02"):
            publisher.send_well_result(well_result(well, size=16))
        elapsed = time.monotonic() - start
    # 6 wells x 6 messages: blocking on each would take 36 x 0.3 s.
    assert publisher.dropped == 36 and publisher.sent == 0
    assert elapsed < 3.0


def test_viewer_that_disappears_mid_stream_does_not_stall_the_run_and_can_come_back():
    receiver = StreamReceiver().start()
    address = receiver.address
    publisher = StreamPublisher(address, hwm=2, send_timeout_ms=300)
    publisher.send_well_result(well_result("A01"))
    assert len(drain(receiver, 6)) == 6
    receiver.stop()  # the viewer window closes

    start = time.monotonic()
    for i in range(10):
        publisher.send_well_result(well_result(f"B{i + 1:02d}"))
    assert time.monotonic() - start < 5.0  # not 60 messages x 0.3 s
    assert publisher.dropped > 0

    with StreamReceiver(address) as again:  # a viewer reopens on the same port
        deadline = time.monotonic() + 10
        got = []
        while time.monotonic() < deadline and not any(m.well == "C01" for m in got):
            publisher.send_well_result(well_result("C01", size=16))
            got += drain(again, 6, timeout=0.5)
    assert any(m.well == "C01" and m.kind == "status" for m in got)
    publisher.close()


def test_bound_publisher_reports_a_connected_viewer():
    with StreamPublisher("tcp://127.0.0.1:0", bind=True) as publisher:
        assert publisher.address != "tcp://127.0.0.1:0"
        assert not publisher.wait_for_peer(0.1)
        with StreamReceiver(publisher.address, connect=True) as receiver:
            assert publisher.wait_for_peer(5)
            publisher.send_well_result(well_result("A01"))
            assert [m.kind for m in drain(receiver, 6)][-1] == "status"


def test_publisher_from_args():
    assert publisher_from_args(SimpleNamespace(stream=None, stream_bind=None)) is None
    with pytest.raises(ValueError, match="not both"):
        publisher_from_args(SimpleNamespace(stream="tcp://a:1", stream_bind="tcp://b:2"))
    publisher = publisher_from_args(SimpleNamespace(stream=None, stream_bind="tcp://127.0.0.1:0"),
                                    wait_for_viewer_s=0)
    assert publisher.address.startswith("tcp://127.0.0.1:")
    publisher.close()
    with pytest.raises(OSError, match="cannot bind"):
        StreamPublisher("tcp://256.1.1.1:5", bind=True)
