"""docs/functions.md lists the registered library functions as the registry has them."""

from __future__ import annotations

from pathlib import Path

import pytest

from napari_hcs.engine.functions.docs import BEGIN, END, main, replace_section, section
from napari_hcs.engine.functions.external.index import get_index

PAGE = Path(__file__).parents[3] / "docs" / "functions.md"


def test_the_committed_page_is_current():
    text = PAGE.read_text(encoding="utf-8")
    generated = section()
    written_for = next(line for line in text.splitlines() if line.startswith("Generated for"))
    current_for = next(line for line in generated.splitlines() if line.startswith("Generated for"))
    if written_for != current_for:
        pytest.skip(f"the page was generated for other library versions ({written_for!r}; "
                    f"installed: {current_for!r})")
    assert replace_section(text, generated) == text, (
        "docs/functions.md is outdated: python -m napari_hcs.engine.functions.docs "
        "docs/functions.md")


def test_every_function_and_every_left_out_candidate_is_on_the_page():
    generated = section()
    index = get_index()
    for name in list(index.functions) + list(index.excluded):
        assert f"`{name}`" in generated
    assert generated.startswith(BEGIN) and generated.endswith(END)


def test_check_mode_and_in_place_update(tmp_path, capsys):
    page = tmp_path / "functions.md"
    page.write_text(f"# Hand-written\n\n{BEGIN}x -->\nstale text\n{END}\n\nafter\n")
    assert main(["--check", str(page)]) == 1
    assert "outdated" in capsys.readouterr().err
    assert main([str(page)]) == 0
    text = page.read_text()
    assert text.startswith("# Hand-written") and text.endswith("\n\nafter\n")
    assert "`skimage.filters.gaussian`" in text and "stale text" not in text
    assert main(["--check", str(page)]) == 0
    page.write_text("no markers")
    with pytest.raises(ValueError, match="no generated section"):
        main([str(page)])
