"""segment_stardist with the real StarDist2D class, on a tiny model with random weights saved
by the test (TensorFlow is not in the [test] extra; these tests run where
`napari-hcs[stardist]` is installed). A one-level U-Net sees a few pixels around each one, so
the tiled result must agree with StarDist on the whole plane, seams included."""

from __future__ import annotations

import numpy as np
import pytest
from deep_tiny_models import no_network, nuclei_image, save_tiny_stardist

from napari_hcs.engine.functions.deep import stardist_segmentation as sd

pytest.importorskip("tensorflow", reason="needs napari-hcs[stardist]")
pytest.importorskip("stardist.models", reason="needs napari-hcs[stardist]")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return save_tiny_stardist(tmp_path_factory.mktemp("models") / "tiny_stardist")


def matched_fraction(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of b's objects that a holds with the same pixels (IoU 1)."""
    ids = np.unique(b[b > 0])
    same = 0
    for i in ids:
        mask = b == i
        found = np.unique(a[mask])
        same += len(found) == 1 and found[0] > 0 and np.array_equal(a == found[0], mask)
    return same / max(len(ids), 1)


def test_tiled_stardist_agrees_with_stardist_on_the_whole_plane(tiny_model, monkeypatch):
    no_network(monkeypatch)
    image = nuclei_image((256, 320))
    stack, labels, rois = sd.segment_stardist(image[None], model=str(tiny_model),
                                              prob_thresh=0.3, tile_size=128,
                                              tile_overlap_um=24.0, pixel_size_um=0.5)
    assert stack.shape == (1, 256, 320) and labels.dtype == np.int32
    whole = sd.segment_stardist(image[None], model=str(tiny_model), prob_thresh=0.3,
                                tile_size=512)[1]
    assert 0 < labels.max() and abs(int(labels.max()) - int(whole.max())) <= whole.max() // 20
    # 96% measured (greedy NMS chains reach past the overlap now and then); 88% with a
    # 1 px overlap, and a merge that kept both tiles' copies would double the count
    assert matched_fraction(labels[0], whole[0]) > 0.93


def test_a_pretrained_name_is_read_from_keras_cache(tiny_model, tmp_path, monkeypatch):
    no_network(monkeypatch)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    cached = tmp_path / "models" / "StarDist2D" / "tiny_stardist"
    cached.mkdir(parents=True)
    for f in tiny_model.iterdir():
        (cached / f.name).write_bytes(f.read_bytes())
    image = nuclei_image((128, 128))[None]
    by_name = sd.segment_stardist(image, model="tiny_stardist", prob_thresh=0.3)[1]
    by_path = sd.segment_stardist(image, model=str(tiny_model), prob_thresh=0.3)[1]
    assert np.array_equal(by_name, by_path)
