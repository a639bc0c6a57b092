"""The attributes of the tables kept inside the OME-Zarr (ngio's feature and generic tables)."""

from __future__ import annotations

import pandas as pd

from napari_hcs.engine.vfs.zarr_tables import table_attributes


def _cells() -> pd.DataFrame:
    """A compartment table as the worker writes it (run keys, CellProfiler's metadata)."""
    frame = pd.DataFrame({
        "plate": "P1", "well": "B07", "field": 0, "label_image": "B/7/0/labels/cells_labels",
        "Metadata_Plate": "P1", "Metadata_Well": "B07", "Metadata_Site": 1, "ImageNumber": 3,
        "ObjectNumber": [1, 2], "label": [1, 2], "Cells_AreaShape_Area": [80.0, 95.5],
        "Cells_Parent_Nuclei": [1, 2], "Cells_Children_Cytoplasm_Count": [1, 1],
        "Number_Object_Number": [1, 2], "Neighbors_FirstClosestObjectNumber_5": [2, 1],
        "class": ["a", "b"]})
    frame.attrs["units"] = {"Cells_AreaShape_Area": "micrometer**2"}
    return frame


def test_ids_and_metadata_are_metadata_columns_not_measurements():
    attrs = table_attributes(_cells())
    assert attrs["type"] == "feature_table"
    assert attrs["measurement_columns"] == ["Cells_AreaShape_Area",
                                            "Cells_Children_Cytoplasm_Count"]
    assert attrs["metadata_columns"] == [
        "plate", "well", "field", "label_image", "Metadata_Plate", "Metadata_Well",
        "Metadata_Site", "ImageNumber", "ObjectNumber", "Cells_Parent_Nuclei",
        "Number_Object_Number", "Neighbors_FirstClosestObjectNumber_5"]
    assert attrs["categorical_columns"] == ["class"]
    assert attrs["units"] == {"Cells_AreaShape_Area": "micrometer**2"}


def test_per_site_tables_are_generic_tables():
    image = pd.DataFrame({"plate": "P1", "well": "B07", "field": [0, 1],
                          "Metadata_Site": [1, 2], "Count_Nuclei": [40, 38]})
    attrs = table_attributes(image)
    assert attrs == {"backend": "parquet", "type": "generic_table", "table_version": "1",
                     "index_key": "index", "index_type": "int"}
