"""The wire protocol: round trips, zero copy, and rejection of malformed messages."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from napari_hcs.bridge import protocol
from napari_hcs.bridge.protocol import ProtocolError, decode


def _bytes(frames):
    return [bytes(f) for f in frames]


def test_image_round_trip_keeps_metadata():
    image = np.random.default_rng(0).integers(0, 4000, (2, 3, 32, 48), dtype=np.uint16)
    frames = protocol.encode_image(image, name="stitched", well="B03", channel_names=["1", "2"],
                                   pixel_size_um=0.65, run="r1")
    message = decode(_bytes(frames))
    assert message.kind == "image" and message.well == "B03" and message.name == "stitched"
    assert message.header["axes"] == "czyx"
    assert message.header["channel_names"] == ["1", "2"]
    assert message.header["pixel_size_um"] == 0.65 and message.header["run"] == "r1"
    np.testing.assert_array_equal(message.data, image)


def test_two_d_image_is_one_channel_and_big_endian_is_converted():
    image = np.arange(12, dtype=">f4").reshape(3, 4)
    message = decode(_bytes(protocol.encode_image(image, name="i", well=None)))
    assert message.data.shape == (1, 3, 4) and message.header["axes"] == "cyx"
    assert message.data.dtype == np.dtype("<f4")
    np.testing.assert_array_equal(message.data[0], image)


def test_torch_image_is_sent_through_a_host_copy():
    image = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
    message = decode(_bytes(protocol.encode_image(image, name="i", well="A01")))
    np.testing.assert_array_equal(message.data, image.numpy())


def test_labels_round_trip_and_must_be_integers():
    labels = np.zeros((5, 16, 16), dtype=np.int32)
    labels[2, 3:6, 4:9] = 7
    message = decode(_bytes(protocol.encode_labels(labels, name="nuclei", well="A01")))
    assert message.header["axes"] == "zyx"
    np.testing.assert_array_equal(message.data, labels)
    with pytest.raises(ProtocolError, match="integer"):
        protocol.encode_labels(labels.astype(float), name="nuclei", well="A01")


def test_rois_round_trip():
    polygons = [np.array([[0, 0], [0, 4.5], [4, 4]]), np.array([[10, 10], [12, 10], [12, 13],
                                                                [10, 13]], dtype=np.float64)]
    frames = protocol.encode_rois(polygons, name="nuclei", well="A02", labels=[5, 9])
    message = decode(_bytes(frames))
    assert message.header["n_polygons"] == 2 and message.header["n_vertices"] == 7
    assert list(message.arrays["labels"]) == [5, 9]
    for got, want in zip(message.polygons(), polygons, strict=True):
        np.testing.assert_allclose(got, want)
    empty = decode(_bytes(protocol.encode_rois([], name="nuclei", well="A02")))
    assert empty.polygons() == []


def test_table_round_trip_with_string_and_missing_values():
    table = pd.DataFrame({"well": ["A01", "A01", None], "label": np.array([1, 2, 3], np.int32),
                          "area": [10.5, np.nan, 3.0], "edge": [True, False, True]})
    message = decode(_bytes(protocol.encode_table(table, name="nuclei", well="A01")))
    assert message.header["strings"] == {"well": ["A01", "A01", None]}
    assert [b["name"] for b in message.header["buffers"]] == ["label", "area", "edge"]
    pd.testing.assert_frame_equal(message.to_dataframe(), table)


def test_progress_and_status_have_no_buffers():
    progress = decode(protocol.encode_progress(well="A01", step="segment", index=2, total=3,
                                               state="running"))
    assert progress.header["step"] == "segment" and progress.arrays == {}
    status = decode(protocol.encode_status(well="A01", status="failed", error="step 2: boom"))
    assert status.header["status"] == "failed" and status.header["error"] == "step 2: boom"


def test_encode_is_zero_copy_and_decode_wraps_the_frame():
    image = np.ones((1, 64, 64), dtype=np.float32)
    frames = protocol.encode_image(image, name="i", well="A01")
    assert np.shares_memory(np.frombuffer(frames[1], dtype=np.float32), image)
    received = [frames[0], bytearray(frames[1])]
    message = decode(received)
    received[1][:4] = np.float32(42).tobytes()  # the decoded array is a view of the frame
    assert message.data[0, 0, 0] == 42


def test_unsendable_dtype_is_refused_on_encode():
    with pytest.raises(ProtocolError, match="complex"):
        protocol.encode_image(np.zeros((1, 2, 2), np.complex64), name="i", well="A01")


def _image_frames():
    return _bytes(protocol.encode_image(np.zeros((1, 4, 4), np.uint8), name="i", well="A01"))


def _with_header(frames, **changes):
    header = json.loads(frames[0])
    for key, value in changes.items():
        if value is ...:
            del header[key]
        else:
            header[key] = value
    return [json.dumps(header).encode(), *frames[1:]]


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"v": 2}, "unknown protocol version 2"),
        ({"kind": "pickle"}, "unknown message kind 'pickle'"),
        ({"well": ...}, "lacks well"),
        ({"shape": ...}, "image header lacks shape"),
        ({"dtype": "object"}, "dtype 'object' not allowed"),
        ({"dtype": "<U4"}, "not allowed"),
        ({"shape": [1, 4, 5]}, "has 16 bytes, shape \\[1, 4, 5\\] uint8 needs 20"),
        ({"shape": [1, -4, -4]}, "positive integers"),
        ({"shape": [1, 0, 2**40]}, "positive integers"),
        ({"axes": "xyz"}, "axes 'xyz'"),
        ({"channel_names": ["a", "b"]}, "channel_names"),
    ],
)
def test_malformed_headers_are_rejected(changes, match):
    with pytest.raises(ProtocolError, match=match):
        decode(_with_header(_image_frames(), **changes))


def test_malformed_frames_are_rejected():
    frames = _image_frames()
    with pytest.raises(ProtocolError, match="empty"):
        decode([])
    with pytest.raises(ProtocolError, match="not UTF-8 JSON"):
        decode([b"\x80\x04\x95 pickle", frames[1]])
    with pytest.raises(ProtocolError, match="not a JSON object"):
        decode([b"[1, 2]", frames[1]])
    with pytest.raises(ProtocolError, match="2 buffer frames, header describes 1"):
        decode([*frames, frames[1]])
    with pytest.raises(ProtocolError, match="too many frames"):
        decode([frames[0]] + [b""] * protocol.MAX_FRAMES)
    with pytest.raises(ProtocolError, match="over the limit"):
        decode(frames, max_bytes=10)


def test_inconsistent_rois_and_tables_are_rejected():
    rois = _bytes(protocol.encode_rois([np.zeros((3, 2))], name="r", well="A01"))
    bad_offsets = np.array([0, 5], "<i4").tobytes()
    with pytest.raises(ProtocolError, match="offsets must rise"):
        decode([rois[0], bad_offsets, rois[2], rois[3]])
    with pytest.raises(ProtocolError, match="n_polygons"):
        decode(_with_header(rois, n_polygons=3))
    table = _bytes(protocol.encode_table({"a": [1, 2], "s": ["x", "y"]}, name="t", well="A01"))
    with pytest.raises(ProtocolError, match="n_rows"):
        decode(_with_header(table, strings={"s": ["x"]}))
    with pytest.raises(ProtocolError, match="exactly one buffer"):
        decode(_with_header(table, columns=["a", "s", "ghost"]))
