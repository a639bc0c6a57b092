"""`python -m bench accuracy --wells`: wells as the plate names them, one line for a bad one."""

from __future__ import annotations

import pytest
from bench.real_plates import DATA, nf1_well

from bench import bench_accuracy


def test_wells_are_named_as_the_plate_names_them():
    assert nf1_well("B07") == nf1_well("b7") == "B7"
    assert nf1_well("H12") == "H12"


def test_an_unknown_well_is_one_line_listing_the_wells(capsys):
    assert bench_accuracy.main(["--wells", "B07,Z99"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("bench accuracy: --wells: no NF1 field for well 'Z99': the wells are "
                   "B07, D06, D07, F07, H12")
    assert bench_accuracy.main(["--wells", "not a well"]) == 2
    assert "'not a well'" in capsys.readouterr().err


def test_help_describes_each_option(capsys):
    with pytest.raises(SystemExit):
        bench_accuracy.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "as the plate names them (B07 or B7)" in text and "keep them" in text


@pytest.mark.skipif(not (DATA / "nf1_plate2").is_dir(), reason="NF1 fields not present")
def test_a_field_opens_under_the_plates_name():
    from bench.real_plates import nf1_field

    field = nf1_field("B07")
    assert field.name == "nf1_B7" and field.nuclei.max() > 0
