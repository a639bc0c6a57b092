"""Models come from the user's cache or a path, checked before loading, never downloaded; a
missing one is one line naming the function, the parameter and where it looked."""

from __future__ import annotations

import numpy as np
import pytest

from napari_hcs.engine.functions.deep import cellpose_segmentation as cp
from napari_hcs.engine.functions.deep import models
from napari_hcs.engine.functions.deep import stardist_segmentation as sd
from napari_hcs.engine.functions.deep.models import LoadedModels, ModelNotFound


@pytest.fixture
def caches(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLPOSE_LOCAL_MODELS_PATH", str(tmp_path / "cellpose"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    (tmp_path / "cellpose").mkdir()
    return tmp_path


def stardist_folder(path):
    path.mkdir(parents=True)
    (path / "config.json").write_text("{}")
    (path / "weights_best.h5").write_bytes(b"\0" * 16)
    return path


def test_a_cellpose_name_is_looked_up_only_in_cellposes_folder(caches):
    with pytest.raises(ModelNotFound) as info:
        cp.resolve_model("cpsam")
    message = str(info.value)
    assert message.startswith("segment_cellpose: parameter 'model': model 'cpsam'")
    assert str(caches / "cellpose" / "cpsam") in message and "never downloaded" in message
    (caches / "cellpose" / "cpsam").write_bytes(b"weights")
    assert cp.resolve_model("cpsam") == caches / "cellpose" / "cpsam"


def test_a_cellpose_path_must_be_a_bounded_regular_file(caches, monkeypatch):
    with pytest.raises(ModelNotFound, match="does not exist"):
        cp.resolve_model(str(caches / "nowhere" / "model"))
    with pytest.raises(ModelNotFound, match="not a regular file"):
        cp.resolve_model(str(caches / "cellpose"))
    big = caches / "big_model"
    big.write_bytes(b"\0" * 100)
    monkeypatch.setattr(models, "MAX_MODEL_BYTES", 99)
    with pytest.raises(ModelNotFound, match="100 bytes, more than the 99"):
        cp.resolve_model(str(big))
    monkeypatch.setattr(models, "MAX_MODEL_BYTES", 100)
    assert cp.resolve_model(str(big)) == big


@pytest.mark.parametrize("value", ["", "a b", ".hidden", "x" * 200])
def test_a_name_that_is_no_name_is_refused(caches, value):
    with pytest.raises(ModelNotFound, match="parameter 'model'"):
        cp.resolve_model(value)


def test_a_stardist_name_is_looked_up_in_keras_cache(caches):
    with pytest.raises(ModelNotFound) as info:
        sd.resolve_model("2D_versatile_fluo")
    assert str(caches / "keras" / "models" / "StarDist2D" / "2D_versatile_fluo") in str(info.value)
    folder = stardist_folder(caches / "keras" / "models" / "StarDist2D" / "2D_versatile_fluo")
    assert sd.resolve_model("2D_versatile_fluo") == folder


def test_a_stardist_folder_needs_its_config_and_weights(caches):
    folder = stardist_folder(caches / "mine")
    assert sd.resolve_model(str(folder)) == folder
    (folder / "weights_best.h5").unlink()
    with pytest.raises(ModelNotFound, match="holds no weights_best.h5 or weights_last.h5"):
        sd.resolve_model(str(folder))
    (folder / "config.json").unlink()
    (folder / "config.json").mkdir()
    with pytest.raises(ModelNotFound, match="config.json is not a regular file"):
        sd.resolve_model(str(folder))
    with pytest.raises(ModelNotFound, match="not a StarDist model folder"):
        sd.resolve_model(str(folder / "config.json" / "x"))


def test_loaded_models_are_reused_until_the_file_changes(tmp_path):
    path = tmp_path / "m"
    path.write_bytes(b"1")
    loaded, calls = LoadedModels(), []
    load = lambda: calls.append(1) or object()  # noqa: E731
    first = loaded.get(path, "cpu", load)
    assert loaded.get(path, "cpu", load) is first and len(calls) == 1
    assert loaded.get(path, "cuda:0", load) is not first and len(calls) == 2
    path.write_bytes(b"22")
    loaded.get(path, "cuda:0", load)
    assert len(calls) == 3


@pytest.mark.skipif(models.package_installed("cellpose"), reason="cellpose is installed here")
def test_calling_without_the_package_says_how_to_install(caches):
    with pytest.raises(ImportError, match=r'pip install "napari-hcs\[cellpose\]"'):
        cp.segment_cellpose(np.zeros((1, 8, 8), np.float32))


def test_listing_and_checking_import_no_deep_learning_library():
    """The process that compiles a run (the viewer, the CLI) must not pay for torch or
    TensorFlow: registering and checking the functions only looks packages up."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from napari_hcs.engine.functions.registry import get_function\n"
            "for name in ('segment_cellpose', 'segment_stardist'):\n"
            "    spec = get_function(name)\n"
            "    spec.func.__hcs_compile_check__({'model': 'x'}, 0.65)\n"
            "heavy = ('torch', 'tensorflow', 'cellpose', 'stardist', 'keras')\n"
            "print([m for m in heavy if m in sys.modules])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert out.strip() == "[]"
