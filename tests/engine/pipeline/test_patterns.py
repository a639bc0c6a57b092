"""The four function-pattern forms, normalised, and their errors."""

from __future__ import annotations

import pytest

from napari_hcs.engine.functions.registry import register, spec_of
from napari_hcs.engine.pipeline import PatternError, iter_calls, normalize_pattern, pattern_kind


@register(category="test")
def pat_smooth(stack, sigma: float = 1.0):
    """Smooth."""
    return stack


@register(category="test")
def pat_clip(stack, low: int = 0, high: int = 100):
    """Clip."""
    return stack


S, C = spec_of(pat_smooth), spec_of(pat_clip)


def test_single():
    assert pattern_kind(pat_smooth) == "single"
    assert normalize_pattern(pat_smooth) == {None: [(S, {})]}


def test_with_kwargs():
    pattern = (pat_smooth, {"sigma": 2})
    assert pattern_kind(pattern) == "kwargs"
    assert normalize_pattern(pattern) == {None: [(S, {"sigma": 2})]}


def test_chain():
    pattern = [pat_smooth, (pat_clip, {"high": 5}), "pat_smooth"]
    assert pattern_kind(pattern) == "chain"
    assert normalize_pattern(pattern) == {None: [(S, {}), (C, {"high": 5}), (S, {})]}


def test_dict_routed_by_group():
    pattern = {"1": pat_smooth, 2: [(pat_clip, {"low": 1}), pat_smooth]}
    assert pattern_kind(pattern) == "dict"
    assert normalize_pattern(pattern, group_by="channel") == {
        "1": [(S, {})],
        "2": [(C, {"low": 1}), (S, {})],
    }


def test_group_by_with_plain_pattern_applies_to_every_group():
    assert normalize_pattern(pat_smooth, group_by="channel") == {None: [(S, {})]}


def test_kwargs_are_copied():
    kwargs = {"sigma": 1}
    normalized = normalize_pattern((pat_smooth, kwargs))
    normalized[None][0][1]["sigma"] = 5
    assert kwargs == {"sigma": 1}


def test_iter_calls_walks_every_form():
    pattern = {"1": pat_smooth, "2": [(pat_clip, {"low": 1}), "pat_smooth"]}
    assert list(iter_calls(pattern)) == [
        ("1", pat_smooth, {}), ("2", pat_clip, {"low": 1}), ("2", "pat_smooth", {})
    ]


@pytest.mark.parametrize(
    ("pattern", "group_by", "fragment"),
    [
        ({"1": pat_smooth}, None, "set group_by"),
        ({}, "channel", "empty dict pattern"),
        ([], None, "empty chain"),
        ([pat_smooth, [pat_clip]], None, "pattern[1]: a chain cannot contain another list"),
        ((pat_smooth, 3), None, "is not a function pattern"),
        ((pat_smooth, {"a": 1}, {}), None, "is not a function pattern"),
        (42, None, "is not a function pattern"),
        ((pat_smooth, {1: 2}), None, "keyword names must be strings"),
        ({"1": "nope_not_registered"}, "channel", "pattern['1']: unknown function"),
        ({1: pat_smooth, "1": pat_clip}, "channel", "given twice"),
        ({(1, 2): pat_smooth}, "channel", "keys must be strings"),
    ],
)
def test_errors(pattern, group_by, fragment):
    with pytest.raises(PatternError) as info:
        normalize_pattern(pattern, group_by=group_by)
    assert fragment in str(info.value)


def test_every_error_is_collected():
    def unregistered(stack):
        return stack

    with pytest.raises(PatternError) as info:
        normalize_pattern([unregistered, "missing_fn", pat_smooth, 7])
    assert len(info.value.messages) == 3
    assert "not a registered function" in info.value.messages[0]
