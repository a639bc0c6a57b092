import pytest

from napari_hcs.engine.plate import PlateError, detect_format, format_names, open_plate


def test_each_format_detected(plates):
    for fmt, root in plates.items():
        assert detect_format(root) == fmt
        assert open_plate(root).layout.format == fmt
    assert set(format_names()) == {"imagexpress", "phenix", "zarr"}


def test_unknown_folder_names_folder_and_formats(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(PlateError) as err:
        open_plate(tmp_path)
    message = str(err.value)
    assert str(tmp_path) in message and "not a known plate" in message
    for hint in ("OME-Zarr", ".HTD", "Index.idx.xml"):
        assert hint in message


def test_missing_path_and_file(tmp_path):
    with pytest.raises(PlateError, match="no such plate folder"):
        detect_format(tmp_path / "nope")
    (tmp_path / "f.tif").write_bytes(b"")
    with pytest.raises(PlateError, match="is not a folder"):
        detect_format(tmp_path / "f.tif")


def test_url_plates_come_from_entry_points():
    with pytest.raises(PlateError, match=r"no plate source for ftp:// URLs \(installed: omero\)"):
        detect_format("ftp://host/plate")
    # Object stores are built in: an OME-Zarr plate there is read through fsspec.
    from napari_hcs.engine.plate import open_plate
    from napari_hcs.engine.plate.omezarr_url import ObjectStoreOmeZarrReader

    assert isinstance(open_plate("s3://bucket/plate.zarr"), ObjectStoreOmeZarrReader)
