"""Where a run may write, and what its clean-up may delete (DESIGN.md "Outputs").

- The input is never written, moved or deleted: an output folder equal to, inside or containing
  the plate (or a folder its images are read from) is refused before anything is written.
  Folders are compared by identity (device and inode) along every ancestor, so symlinks, `..`
  and bind mounts cannot hide a match.
- Clean-up removes only what napari-hcs wrote. Before a run creates its entries it lists them in
  `OUT/.napari-hcs-outputs.json`; an entry of those names that exists without being listed
  there was not written by napari-hcs, and the run is refused instead of deleting it or mixing
  results into it. (A marker *inside* plate.zarr would be a stray file in the zarr hierarchy,
  which zarr-python 3 warns about on every listing.)
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..compiler.plan import WellPlan
from ..vfs import atomic_write_json, omezarr
from ..vfs.safe_files import UnsafeOutput, check_tree, read_entry
from .outputs import INTERMEDIATE, PARTS, PLATE, RUN_JSON, TABLES

#: Everything a run may create in its output folder (besides the lock and the manifest).
OWNED = (PLATE, TABLES, PARTS, INTERMEDIATE, RUN_JSON)
MANIFEST = ".napari-hcs-outputs.json"
_TIFF = (".tif", ".tiff")


class OutputRefused(ValueError):
    """The output folder cannot be used without touching the input or files we did not write."""


def check_not_input(out: Path, plans: Sequence[WellPlan]) -> None:
    """Refuse an output folder that is, lies inside, or contains the plate or a folder that
    input images are read from; nothing is written before this check."""
    out = Path(out).absolute()
    out_id = _identity(out)
    out_chain = _chain(out)
    for folder, what in _input_folders(plans):
        folder_id = _identity(folder)
        if folder_id is None:
            continue
        if folder_id == out_id:
            relation = "is"
        elif folder_id in out_chain:
            relation = "lies inside"
        elif out_id is not None and out_id in _chain(folder):
            relation = "contains"
        else:
            continue
        root = Path(plans[0].plate_root)
        raise OutputRefused(
            f"the output folder {out} {relation} {what} {folder}; napari-hcs never writes, moves "
            "or deletes its input: choose an output folder outside it, e.g. "
            f"{root.absolute().parent / (root.stem + '-results')}")


def _input_folders(plans: Sequence[WellPlan]) -> list[tuple[Path, str]]:
    # The plate root, and every folder a TIFF is read from that resolves outside it (a Harmony
    # index may point anywhere, a TimePoint_1 folder may be a link).
    root_text = plans[0].plate_root if plans else ""
    if not plans or "://" in root_text:  # a URL plate (omero://) has no local folder
        return []
    root = Path(root_text).resolve()
    folders = [(root, "the input plate")]
    # A TIFF's folder; a zarr field's array folder itself (a well of the input may be a
    # link into the output's plate.zarr, whose clean-up would then delete the input's arrays).
    parents = {os.path.dirname(path) if path.lower().endswith(_TIFF) else path
               for plan in plans for _, path in plan.inputs if "://" not in path}
    for parent in sorted(parents):
        real = Path(parent).resolve()
        if not real.is_relative_to(root):
            folders.append((real, "the folder of input images"))
    return folders


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _chain(path: Path) -> set[tuple[int, int]]:
    """Identities of `path` (when it exists) and of each of its existing ancestors (after links
    and `..` are resolved: the lexical parents of `a/../b` do not contain it)."""
    found = set()
    for folder in (path, *Path(os.path.realpath(path)).parents):
        ident = _identity(folder)
        if ident is not None:
            found.add(ident)
    return found


def claimed(out: Path) -> set[str]:
    """The entries of `out` that napari-hcs listed as its own."""
    try:  # a linked or hard-linked manifest claims nothing
        text = read_entry(out, MANIFEST, 1 << 20)
    except OSError:
        return set()
    if text is None:
        return set()
    try:
        data = json.loads(text)
        return {str(name) for name in data.get("entries", [])} & set(OWNED)
    except (OSError, ValueError, AttributeError, TypeError):
        return set()


def check_owned(out: Path) -> None:
    """Refuse an output folder holding an entry of our names that napari-hcs did not write."""
    mine = claimed(out)
    for name in OWNED:
        path = out / name
        if path.is_symlink():
            raise OutputRefused(
                f"{path} is a symbolic link; napari-hcs writes its outputs as real files and "
                "folders and never follows links there: remove it, or choose an empty output "
                "folder")
        if path.exists() and name not in mine:
            raise OutputRefused(
                f"{path} was not written by napari-hcs (it is not listed in {out / MANIFEST}); "
                "napari-hcs replaces only its own outputs: choose an empty output folder, or "
                "move it away")


def check_resumable(out: Path) -> None:
    """Refuse to resume in a folder where an entry below our outputs is a symbolic link, a
    special file or a file with another name (a hard link): a resumed run writes into and
    removes from those folders in place, and must never reach through them."""
    for name in (PLATE, TABLES, PARTS, INTERMEDIATE):
        try:
            check_tree(out / name)
        except UnsafeOutput as exc:
            raise OutputRefused(f"cannot resume in {out}: {exc}") from None


def prepare_output(out: Path, wells: Sequence[str], *, resume: bool, name: str,
                   grid: tuple[int, int] | None = None,
                   version: str = omezarr.DEFAULT_VERSION,
                   plate: str | Path | None = None) -> None:
    """Claim our entries, remove our previous outputs (without resume) and create the plate
    (`grid`: its physical rows and columns; `version`: its NGFF version; `plate`: where it
    goes when not `out/plate.zarr`, an object store's URL).

    The caller holds the folder's lock and has checked that the folder is not the input."""
    check_owned(out)
    try:  # claimed before they are created: a crash right after still leaves them ours
        atomic_write_json(out / MANIFEST, {
            "written_by": "napari-hcs",
            "entries": list(OWNED),
            "note": "napari-hcs replaces these entries of this folder when a run without "
                    "--resume starts here, and nothing else",
        })
    except OSError as exc:
        raise OSError(f"output folder {out} is not writable: {exc.strerror or exc}") from exc
    if resume:  # written into in place: nothing below may lead out of the folder
        check_resumable(out)
    else:
        _remove(out / entry for entry in (PLATE, TABLES, PARTS, INTERMEDIATE))
    omezarr.create_plate(plate or out / PLATE, wells, name=name, field_count=1, grid=grid,
                         version=version)


def _remove(paths: Iterable[Path]) -> None:
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)  # never follows links inside the tree
        elif path.exists() or path.is_symlink():
            path.unlink()
