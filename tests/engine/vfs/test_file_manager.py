"""FileManager over memory, disk and zarr backends; atomic writes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_hcs.engine.vfs import FileManager, StorageError, atomic_dir, atomic_write


@pytest.mark.parametrize("backend", ["memory", "disk", "zarr"])
def test_round_trip_exists_delete_list(tmp_path, backend):
    files = FileManager(tmp_path)
    a = np.arange(12, dtype=np.uint16).reshape(3, 4)
    files.save("A01/step/s1", a, backend)
    files.save("A01/step/s2", a + 1, backend)
    files.save("B01/step/s1", a + 2, backend)
    assert files.exists("A01/step/s1", backend)
    np.testing.assert_array_equal(files.load("A01/step/s2", backend), a + 1)
    assert files.list("A01/", backend) == ["A01/step/s1", "A01/step/s2"]
    files.delete("A01/step/s1", backend)
    assert not files.exists("A01/step/s1", backend)
    with pytest.raises(StorageError, match="A01/step/s1"):
        files.load("A01/step/s1", backend)


def test_disk_stores_tables_and_json(tmp_path):
    files = FileManager(tmp_path, disk_dir="parts")
    df = pd.DataFrame({"well": ["A01"], "area": [3]})
    files.save("A01/nuclei", df, "disk")
    files.save("A01/meta", {"n": 1}, "disk")
    pd.testing.assert_frame_equal(files.load("A01/nuclei", "disk"), df)
    assert files.load("A01/meta", "disk") == {"n": 1}
    assert (tmp_path / "parts" / "A01" / "nuclei.parquet").is_file()
    files.delete("A01", "disk")  # a whole folder
    assert files.list(backend="disk") == []


def test_memory_only_without_root_and_bad_names():
    files = FileManager()
    files.save("x", 1)
    assert files.load("x") == 1
    with pytest.raises(StorageError, match="needs an output folder"):
        files.save("x", 1, "disk")
    with pytest.raises(StorageError, match="unknown backend"):
        files.save("x", 1, "tape")
    with pytest.raises(StorageError, match="invalid storage key"):
        files.save("../escape", 1)


def test_interrupted_file_write_leaves_old_file_and_no_temp(tmp_path):
    target = tmp_path / "run.json"
    target.write_text("old")

    def fail(tmp):
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(target, fail)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


def test_interrupted_zarr_write_keeps_previous_array(tmp_path):
    files = FileManager(tmp_path)
    files.save("A01/img", np.ones((4, 4)), "zarr")
    folder = tmp_path / "intermediate.zarr" / "A01" / "img"
    with pytest.raises(RuntimeError), atomic_dir(folder) as tmp:
        (tmp / ".zarray").write_text("{}")
        raise RuntimeError("killed mid-write")
    np.testing.assert_array_equal(files.load("A01/img", "zarr"), np.ones((4, 4)))
    assert files.list(backend="zarr") == ["A01/img"]
    assert [p.name for p in folder.parent.iterdir()] == ["img"] or all(
        not p.name.startswith(".img") for p in folder.parent.iterdir())
