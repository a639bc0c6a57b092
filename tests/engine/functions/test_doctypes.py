"""Parameter types from numpydoc type strings: what the forms and the compiler's checks read."""

from __future__ import annotations

import math
import typing

import numpy as np
import pytest

from napari_hcs.engine.compiler.validate import type_mismatch
from napari_hcs.engine.functions.external.doctypes import (
    annotation,
    complete,
    decode_default,
    encode_default,
    parse_type,
)

NDIMAGE_MODE = """The `mode` parameter determines how the input array is extended.

'reflect' (`d c b a | a b c d | d c b a`)
    The input is extended by reflecting about the edge of the last pixel.

'constant' (`k k k k | a b c d | k k k k`)
    The input is extended by filling all values beyond the edge.

'grid-wrap'
    This is a synonym for 'wrap'.
"""
RESCALE_RANGE = """Min and max intensity values.

'image'
    Use image min/max as the intensity range.
'dtype'
    Use min/max of the image's dtype as the intensity range.
dtype-name
    Use intensity range based on desired `dtype`.
"""


@pytest.mark.parametrize(("text", "expected"), [
    ("int", ["int"]),
    ("float, optional", ["float"]),
    ("scalar or sequence of scalars", ["float", {"seq": "float"}]),
    ("int or None", ["int", "none"]),
    ("None or int or sequence of ints", ["none", "int", {"seq": "int"}]),
    ("tuple of int or None", [{"seq": "int"}, "none"]),
    ("bool", ["bool"]),
    ("(M, N) ndarray", ["array"]),
    ("2-D array (uint8, uint16)", ["array"]),
    ("{'reflect', 'constant', 'nearest', 'mirror', 'wrap'}",
     [{"choice": ["reflect", "constant", "nearest", "mirror", "wrap"]}]),
    ("{None, 'sequence'}", [{"choice": ["sequence"]}, "none"]),
    ("{`numpy.random.Generator`, int}", ["int"]),
    ("str, {'low', 'high'}", [{"choice": ["low", "high"]}]),
    ("{1, 2}, int", [{"choice": [1, 2]}, "int"]),
    ("tuple[int, ...]", [{"seq": "int"}]),
    ("callable", ["callable"]),
    ("array or dtype", ["array", "dtype"]),
    ("str or sequence", ["str", {"seq": "any"}]),
    ("", []),
    (None, []),
])
def test_type_strings(text, expected):
    assert parse_type(text) == expected


def test_choices_listed_in_the_description_like_ndimage_modes():
    alts = parse_type("str or sequence", NDIMAGE_MODE)
    assert alts[0] == {"choice": ["reflect", "constant", "grid-wrap"]}
    # a list of values that are not all choices (dtype names may follow) stays a free string
    assert parse_type("str or 2-tuple", RESCALE_RANGE)[0] == "str"


def test_annotations_for_forms_and_validation():
    assert annotation(["int"]) is int
    assert annotation(["float", {"seq": "float"}]) == (float | tuple[float, ...])
    assert annotation([{"choice": ["a", "b"]}, "none"]) == (typing.Literal["a", "b"] | None)
    assert annotation(["array", "none"]) == (np.ndarray | None)
    assert annotation(["callable"]) is typing.Any
    mode = annotation(parse_type("str or sequence", NDIMAGE_MODE))
    assert type_mismatch("reflect", mode) is None
    assert "expects" in type_mismatch("reflekt", mode)
    assert type_mismatch(["reflect", "constant"], mode) is None  # one mode per axis


def test_the_default_always_fits():
    # docstrings narrower than the code: validation must never refuse a function's default
    assert complete(["int"], None, True) == ["int", "none"]
    assert complete([{"choice": ["a"]}], "b", True) == [{"choice": ["a", "b"]}]
    assert complete([], 1.5, True) == ["float"]
    assert complete([], None, False) == ["any"]
    assert complete(["int"], 2.0, True) == ["int", "float"]
    for alts, default in ((["int"], None), ([], (1, 2)), (["float"], 3), ([], "x")):
        assert type_mismatch(default, annotation(complete(alts, default, True))) is None


def test_defaults_round_trip_through_json():
    for value in (None, True, 3, 0.5, "reflect", (1, 2), [1.0, 2.0], np.float32(0.25),
                  np.int64(7)):
        ok, encoded = encode_default(value)
        assert ok
        decoded = decode_default(encoded)
        assert decoded == value and type(decoded) in (type(None), bool, int, float, str,
                                                      tuple, list)
    ok, encoded = encode_default(math.inf)
    assert ok and decode_default(encoded) == math.inf
    assert encode_default(np.float64)[0] is False  # a dtype is no plain value
    assert encode_default(lambda x: x)[0] is False
