"""CellProfiler's table layout (`executor/profile_tables.py`): metadata keys, the site of each
object of a stitched well, the per-site image table and plate-wide image numbers."""

from __future__ import annotations

import pandas as pd

from napari_hcs.engine.executor.profile_tables import cellprofiler_tables, number_images


def _objects(compartment: str, labels: list[int], **columns: list[float]) -> pd.DataFrame:
    frame = pd.DataFrame({"plate": "P", "well": "B03", "field": 0, "label": labels,
                          **{f"{compartment}_{k}": v for k, v in columns.items()}})
    frame.attrs = {"compartment": compartment, "units": {}}
    return frame


def _well_tables() -> dict[str, pd.DataFrame]:
    # Two 100 px tiles side by side overlapping by 10 px: x 0..99 (site 1), 90..189 (site 2).
    nuclei = _objects("Nuclei", [1, 2, 3], AreaShape_Center_Y=[50.0, 50.0, 50.0],
                      AreaShape_Center_X=[20.0, 97.0, 150.0])
    cells = _objects("Cells", [1, 2, 3], Parent_Nuclei=[1, 2, 3],
                     AreaShape_Center_Y=[50.0] * 3, AreaShape_Center_X=[20.0, 91.0, 150.0])
    qc = pd.DataFrame({"plate": "P", "well": "B03", "field": 0, "site": [1, 2],
                       "ImageQuality_ThresholdOtsu_1": [0.1, 0.2]})
    qc.attrs = {"cellprofiler": "image", "units": {}}
    return {"nuclei": nuclei, "cells": cells, "qc": qc}


def test_objects_get_the_site_whose_tile_holds_their_nucleus() -> None:
    positions = pd.DataFrame({"site": [1, 2], "y": [0.0, 0.0], "x": [0.0, 90.0]})
    out = cellprofiler_tables(_well_tables(), plate="P", well="B03", sites=[1],
                              positions=positions, tile_shape=(100, 100))
    nuclei, cells = out["nuclei"], out["cells"]
    # x = 97 lies in both tiles; the nearer tile centre (139.5, not 49.5) is site 2's.
    assert nuclei["Metadata_Site"].tolist() == [1, 2, 2]
    # A cell takes its nucleus' site, even where its own centre (x = 91) is nearer site 1's.
    assert cells["Metadata_Site"].tolist() == [1, 2, 2]
    assert nuclei.columns[:9].tolist() == ["plate", "well", "field", "Metadata_Plate",
                                           "Metadata_Well", "Metadata_Site", "ObjectNumber",
                                           "label", "Nuclei_AreaShape_Center_Y"]
    image = out["image"]
    assert image["Metadata_Site"].tolist() == [1, 2]
    assert image["Count_Nuclei"].tolist() == [1, 2] and image["Count_Cells"].tolist() == [1, 2]
    assert image["ImageQuality_ThresholdOtsu_1"].tolist() == [0.1, 0.2]
    assert out["qc"]["Metadata_Site"].tolist() == [1, 2]


def test_unstitched_fields_are_their_sites() -> None:
    tables = _well_tables()
    tables["nuclei"]["field"] = [0, 1, 1]
    out = cellprofiler_tables({"nuclei": tables["nuclei"]}, plate="P", well="B03",
                              sites=[3, 4])
    assert out["nuclei"]["Metadata_Site"].tolist() == [3, 4, 4]
    assert out["image"]["Count_Nuclei"].tolist() == [1, 2]


def test_image_numbers_run_over_the_plate_in_well_order() -> None:
    def sites(well: str, values: list[int]) -> pd.DataFrame:
        return pd.DataFrame({"Metadata_Well": well, "Metadata_Site": values})

    numbered = number_images({
        "image": pd.concat([sites("B03", [1, 2]), sites("A10", [1, 2]), sites("A02", [2])]),
        "nuclei": sites("A10", [2, 2, 1]),
        "wells": pd.DataFrame({"Metadata_Well": ["A02"]}),
    })
    assert numbered["image"]["ImageNumber"].tolist() == [4, 5, 2, 3, 1]
    assert numbered["nuclei"]["ImageNumber"].tolist() == [3, 3, 2]
    assert "ImageNumber" not in numbered["wells"].columns
    assert numbered["nuclei"].columns.tolist() == ["Metadata_Well", "Metadata_Site",
                                                   "ImageNumber"]
