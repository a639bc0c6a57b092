"""segment_cellpose with the real CellposeModel class, on a tiny network with random weights
saved by the test (Cellpose is not in the [test] extra: its torchvision does not match the CPU
torch wheel CI installs; these tests run where `napari-hcs[cellpose]` is installed)."""

from __future__ import annotations

import numpy as np
import pytest
from deep_tiny_models import no_network, nuclei_image, save_tiny_cellpose

from napari_hcs.engine.functions.deep import cellpose_segmentation as cp

pytest.importorskip("cellpose.models", reason="needs napari-hcs[cellpose]",
                    exc_type=ImportError)
torch = pytest.importorskip("torch")


@pytest.fixture
def tiny_model(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLPOSE_LOCAL_MODELS_PATH", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    return save_tiny_cellpose(tmp_path / "tiny_cpsam", monkeypatch)


def run(stack, **kwargs):
    # flow_threshold=0 keeps the masks of random flows (the flow-error check drops them all)
    kwargs = {"flow_threshold": 0.0, "min_area": 5, "tile_size": 128, **kwargs}
    return cp.segment_cellpose(stack, **kwargs)


def test_a_saved_model_runs_tiled_over_a_mosaic_without_the_network(tiny_model, monkeypatch):
    no_network(monkeypatch)
    stack = torch.as_tensor(np.stack([nuclei_image((200, 300), seed) for seed in (1, 2)]))
    out, labels, rois = run(stack, model=str(tiny_model))
    assert out is stack
    assert labels.shape == (2, 200, 300) and labels.dtype == np.int32
    first, second = labels[0][labels[0] > 0], labels[1][labels[1] > 0]
    assert first.size and second.size
    assert second.min() > first.max()  # ids unique over the stack
    assert np.array_equal(np.unique(first), np.arange(1, first.max() + 1))
    assert len(rois) == labels.max()
    # the network holds the weights of the file, not a downloaded model's
    net = cp.load_model(tiny_model, "cpu").net
    saved = torch.load(tiny_model, weights_only=True)
    assert torch.equal(net.state_dict()["out.weight"], saved["out.weight"])
    assert list((tiny_model.parent / "cache").iterdir()) == []


def test_a_model_name_is_read_from_cellposes_folder(tiny_model, monkeypatch):
    no_network(monkeypatch)
    (tiny_model.parent / "cache" / "tinycp").write_bytes(tiny_model.read_bytes())
    stack = torch.as_tensor(nuclei_image((150, 150))[None])
    by_name = run(stack, model="tinycp")[1]
    by_path = run(stack, model=str(tiny_model))[1]
    assert np.array_equal(by_name, by_path)


def test_a_diameter_in_um_rescales_with_the_plate_pixel_size(tiny_model):
    stack = torch.as_tensor(nuclei_image((150, 150))[None])
    at_30_px = run(stack, model=str(tiny_model), diameter_um=15.0, pixel_size_um=0.5)[1]
    plain = run(stack, model=str(tiny_model))[1]  # diameter 0: no rescaling, = 30 px
    assert np.array_equal(at_30_px, plain)
    with pytest.raises(ValueError, match="no pixel size"):
        run(stack, model=str(tiny_model), diameter_um=15.0)
