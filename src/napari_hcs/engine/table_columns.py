"""Which columns of a run's table are measurements and which are metadata: one rule for the
OME-Zarr tables' `measurement_columns` / `metadata_columns` (`vfs/zarr_tables.py`), the Results
panel's feature list and the classifier's features.

Metadata, in the words of ngio's feature-table spec, are columns "that should not be used for
analysis/classification purposes": where a row belongs (`plate`, `well`, `field`, `site`,
`label_image`, `Metadata_*`), which object or image it is (`index`, `label`, `well_label`,
`ImageNumber`, `ObjectNumber`, CellProfiler's `Number_Object_Number`, a neighbour's
`*ClosestObjectNumber*`) and CellProfiler's links to a parent object (`Parent_*`, also with a
compartment prefix, `Cells_Parent_Nuclei`). A child count (`Children_Cells_Count`) is a
measurement. Measurements are the numeric (not boolean) columns left.
"""

from __future__ import annotations

import re
from typing import Any

#: Columns named exactly so are metadata.
METADATA_NAMES = frozenset({"index", "label", "well", "well_label", "site", "field", "plate",
                            "label_image", "ImageNumber", "ObjectNumber"})
_METADATA_PATTERN = re.compile(r"^Metadata_|^Number_|(^|_)Parent_|ObjectNumber")


def is_metadata(name: str) -> bool:
    """Whether the column `name` identifies or places a row rather than measuring it."""
    return name in METADATA_NAMES or bool(_METADATA_PATTERN.search(name))


def measurement_columns(frame: Any) -> list[str]:
    """The numeric, non-boolean, non-metadata columns of the DataFrame `frame`, in order."""
    import pandas as pd

    return [str(c) for c in frame.columns if not is_metadata(str(c))
            and pd.api.types.is_numeric_dtype(frame[c])
            and not pd.api.types.is_bool_dtype(frame[c])]
