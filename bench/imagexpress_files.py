"""Minimal ImageXpress folder scan for the baseline scripts (skimage script and the floor).

The baselines deliberately do not use napari_hcs, so that they measure plain Python + scikit-image
and plain I/O; this is the few lines of parsing they need.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

_NAME = re.compile(r"_(?P<well>[A-Z]\d{2})(?:_s(?P<site>\d+))?(?:_w(?P<ch>\d+))?\.tiff?$", re.I)


def scan(root: str | Path) -> dict[str, dict[str, dict[int, Path]]]:
    """{well: {channel: {site: path}}} for every image under `root` (thumbnails skipped)."""
    out: dict[str, dict[str, dict[int, Path]]] = defaultdict(lambda: defaultdict(dict))
    for path in sorted(Path(root).rglob("*")):
        if "_thumb" in path.name.lower():
            continue
        m = _NAME.search(path.name)
        if not m:
            continue
        out[m["well"]][m["ch"] or "1"][int(m["site"] or 1)] = path
    if not out:
        raise FileNotFoundError(f"{root}: no ImageXpress images (<plate>_<well>_s<n>_w<n>.TIF)")
    return {w: dict(chs) for w, chs in sorted(out.items())}


def grid(root: str | Path) -> tuple[int, int]:
    """(rows, columns) of sites from the plate's .HTD (YSites, XSites)."""
    htd = next(iter(sorted(Path(root).glob("*.HTD"))), None)
    if htd is None:
        raise FileNotFoundError(f"{root}: no .HTD file")
    text = htd.read_text(errors="replace")
    xs = re.search(r'"XSites",\s*(\d+)', text)
    ys = re.search(r'"YSites",\s*(\d+)', text)
    if not (xs and ys):
        raise ValueError(f"{htd}: no XSites/YSites")
    return int(ys.group(1)), int(xs.group(1))
