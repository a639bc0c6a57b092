import pytest
from hypothesis import given
from hypothesis import strategies as st

from napari_hcs.engine.plate import PlateError
from napari_hcs.engine.plate.wells import (
    format_well,
    normalize_well,
    parse_well,
    row_index,
    row_letters,
    sort_wells,
)


def test_parse_and_format():
    assert parse_well("B03") == (1, 2)
    assert parse_well("b3") == (1, 2)
    assert parse_well("A001") == (0, 0)
    assert format_well(1, 2) == "B03"
    assert format_well(0, 0, pad=3) == "A001"
    assert normalize_well("p24") == "P24"


def test_rows_beyond_z():
    assert row_letters(25) == "Z"
    assert row_letters(26) == "AA"
    assert row_letters(31) == "AF"  # 1536-well plates have 32 rows
    assert parse_well("AF48") == (31, 47)
    assert row_index("AA") == 26


@given(st.integers(0, 2000), st.integers(0, 998))
def test_round_trip(row, col):
    assert parse_well(format_well(row, col)) == (row, col)


@pytest.mark.parametrize("bad", ["", "03", "B", "B00", "B-3", "Ä03", "B1234"])
def test_bad_names(bad):
    with pytest.raises(PlateError, match="not a well name"):
        parse_well(bad)


def test_sort_order():
    assert sort_wells(["B10", "B2", "AA01", "Z01", "A01", "B2"]) == (
        "A01", "B2", "B10", "Z01", "AA01"
    )
