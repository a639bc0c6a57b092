"""Give OpenHCS its own prepared copy of an ImageXpress plate (stdlib only).

OpenHCS 0.8.6 needs three accommodations on MetaXpress/ImageXpress plates:

1. it refuses an `.HTD` without a `"PixelSizeUM"` line: one is added (the value from
   `ground_truth.json` when the generator wrote one, else `DEFAULT_PIXEL_SIZE_UM`);
2. it fails on MetaXpress `_thumb` thumbnails: they are not copied;
3. it writes `openhcs_metadata.json` (and a `.lock`) into the input folder and a stale one
   breaks the next run: every repetition gets a fresh copy, and any such file is not copied.

The copy is made outside the timed region; `prepare_plate` returns the list of changes made so
the report can say exactly what OpenHCS was given.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

DEFAULT_PIXEL_SIZE_UM = 0.65
_STALE = ("openhcs_metadata.json", "openhcs_metadata.json.lock")


def _pixel_size(source: Path) -> float:
    truth = source / "ground_truth.json"
    if truth.exists():
        try:
            data = json.loads(truth.read_text())
        except ValueError:
            return DEFAULT_PIXEL_SIZE_UM
        for key in ("pixel_size_um", "pixel_size"):
            if isinstance(data.get(key), (int, float)):
                return float(data[key])
    return DEFAULT_PIXEL_SIZE_UM


def prepare_plate(source: str | Path, dest: str | Path) -> list[str]:
    """Copy `source` to `dest` (replacing it) with the accommodations; return what was done."""
    source, dest = Path(source), Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    dropped: list[str] = []

    def ignore(folder: str, names: list[str]) -> set[str]:
        skip = {n for n in names if "_thumb" in n.lower() or n in _STALE}
        dropped.extend(str(Path(folder, n).relative_to(source)) for n in sorted(skip))
        return skip

    shutil.copytree(source, dest, ignore=ignore)
    notes = []
    thumbs = [d for d in dropped if "_thumb" in d.lower()]
    if thumbs:
        notes.append(f"dropped {len(thumbs)} MetaXpress _thumb thumbnail(s)")
    stale = [d for d in dropped if Path(d).name in _STALE]
    if stale:
        notes.append(f"dropped stale {', '.join(stale)}")
    htds = sorted(dest.glob("*.HTD")) + sorted(dest.glob("*.htd"))
    if not htds:
        raise FileNotFoundError(f"{source}: no .HTD file; not an ImageXpress plate")
    for htd in htds:
        text = htd.read_bytes().decode("latin-1")  # keep MetaXpress's CRLF as it is
        if re.search(r'"PixelSize(UM|Microns)?"', text):
            continue
        size = _pixel_size(source)
        line = f'"PixelSizeUM", {size}'
        newline = "\r\n" if "\r\n" in text else "\n"
        if '"EndFile"' in text:
            text = text.replace('"EndFile"', line + newline + '"EndFile"', 1)
        else:
            text = text.rstrip() + newline + line + newline
        htd.write_bytes(text.encode("latin-1"))
        notes.append(f"added {line} to {htd.name}")
    notes.append("fresh copy of the plate for this repetition (OpenHCS writes into its input)")
    return notes
