"""Bounded JSON: depth is measured right (brackets and escaped quotes inside strings do not
count) and limits are enforced before `json.loads` runs."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from napari_hcs.engine.json_limits import (
    JsonLimitError,
    check_value,
    loads_bounded,
    nesting_depth,
)

tricky_text = st.text(alphabet='[]{}"\\,:abc\n\u00e9\U0001f600', max_size=12)
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | tricky_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(tricky_text, inner, max_size=3),
    max_leaves=12)


def depth_of(value) -> int:
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(values, st.booleans())
def test_nesting_depth_ignores_what_is_inside_strings(value, ascii_only):
    text = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert nesting_depth(text) == depth_of(value)


def test_limits_are_checked_before_parsing():
    with pytest.raises(JsonLimitError, match="nests 100000 levels deep; the limit is 8"):
        loads_bounded(b"[" * 100_000 + b"]" * 100_000, max_bytes=10**6, max_depth=8)
    with pytest.raises(JsonLimitError, match="more than 1000 JSON items"):
        loads_bounded(b"[" + b"1," * 2000 + b"1]", max_bytes=10**6, max_depth=8, max_items=1000)
    with pytest.raises(JsonLimitError, match="over the limit of 10"):
        loads_bounded(b'"' + b"x" * 20 + b'"', max_bytes=10, max_depth=8)
    with pytest.raises(JsonLimitError, match="not UTF-8 JSON"):
        loads_bounded(b"[NaN]", max_bytes=100, max_depth=8)
    with pytest.raises(JsonLimitError, match="not UTF-8 JSON"):
        loads_bounded(b"\xff\xfe", max_bytes=100, max_depth=8)
    # brackets in strings do not count against the depth
    assert loads_bounded(b'["[[[[[[[[[[", {"a": "{{{{{{"}]', max_bytes=100,
                         max_depth=2) == ["[[[[[[[[[[", {"a": "{{{{{{"}]


def test_check_value_refuses_what_is_not_plain_json():
    limits = {"max_depth": 4, "max_values": 100, "max_string": 10, "max_bytes": 1000}
    check_value({"a": [1, 2.5, None, True, "s"]}, **limits)
    for bad, reason in [([[[[[1]]]]], "deeper"), (list(range(200)), "more than 100"),
                        ("x" * 11, "longer"), ({1: 2}, "not a string"), ((1,), "tuple"),
                        (float("inf"), "not a JSON number"), (2**70, "64 bits")]:
        with pytest.raises(JsonLimitError, match=reason):
            check_value(bad, **limits)
