"""Grouping images into stacks and mapping outputs back onto keys."""

from __future__ import annotations

import numpy as np
import pytest

from napari_hcs.engine.executor.stacking import StackError, group_keys, split_stack, stack_planes
from napari_hcs.engine.plate.model import ImageKey

KEYS = [ImageKey("A01", s, c) for c in ("1", "2") for s in (1, 2, 3)]


def test_groups_by_components_not_variable():
    groups = group_keys(reversed(KEYS), ("site",))
    assert list(groups) == [(("channel", "1"), ("z", 1), ("timepoint", 1)),
                            (("channel", "2"), ("z", 1), ("timepoint", 1))]
    assert [k.site for k in groups[(("channel", "2"), ("z", 1), ("timepoint", 1))]] == [1, 2, 3]
    by_channel = group_keys(KEYS, ("channel",))
    assert len(by_channel) == 3 and all(len(v) == 2 for v in by_channel.values())


def test_split_same_n_and_collapse_to_one():
    keys = KEYS[:3]
    out = split_stack(np.zeros((3, 4, 4)), keys, ("site",), where="step 'x'")
    assert list(out) == keys
    one = split_stack(np.zeros((1, 8, 8)), keys, ("site",), where="step 'x'")
    assert list(one) == [ImageKey("A01", 1, "1")]
    assert list(split_stack(np.zeros((8, 8)), keys, ("site",), where="x")) == list(one)


def test_split_other_n_names_where():
    with pytest.raises(StackError, match=r"step 2 'bad'.*3 images.*returned 2"):
        split_stack(np.zeros((2, 4, 4)), KEYS[:3], ("site",), where="step 2 'bad'")


def test_planes_of_one_stack_are_stacked_without_a_copy() -> None:
    stack = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    again = stack_planes([stack[0], stack[1]])
    assert np.shares_memory(again, stack) and np.array_equal(again, stack)
    np.testing.assert_array_equal(stack_planes([stack[1], stack[0]]), stack[::-1])
    mosaic = np.ones((5, 6))
    assert np.shares_memory(stack_planes([mosaic]), mosaic)
    apart = [np.zeros((3, 4)), np.ones((3, 4))]  # separate arrays: a new stack
    assert not np.shares_memory(stack_planes(apart), apart[0])
    np.testing.assert_array_equal(stack_planes(apart), np.stack(apart))
