"""Small models with random weights, made and saved by the tests (no model can be downloaded
here): the real Cellpose-SAM network class with a one-block encoder, and a real StarDist2D of
one U-Net level. They test loading, the packages' APIs and tiling; random weights say nothing
about accuracy."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest


def tiny_sam_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make Cellpose build its CPSAM network around a 32-wide, one-block ViT instead of SAM's
    ViT-L (300 M parameters): `cellpose.vit.CPSAM` asks segment_anything's registry for it."""
    from segment_anything import sam_model_registry
    from segment_anything.build_sam import _build_sam

    def build(checkpoint=None):
        return _build_sam(encoder_embed_dim=32, encoder_depth=1, encoder_num_heads=2,
                          encoder_global_attn_indexes=[0], checkpoint=checkpoint)

    monkeypatch.setitem(sam_model_registry, "vit_l", build)


def save_tiny_cellpose(path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import torch
    from cellpose.vit import CPSAM

    tiny_sam_encoder(monkeypatch)
    torch.manual_seed(0)
    CPSAM(dtype=torch.float32).save_model(str(path))
    return path


def save_tiny_stardist(folder: Path, radius: float = 10.0) -> Path:
    """A StarDist2D model folder (config.json, weights_best.h5) with random weights, except
    that every ray is `radius` px long: objects are octagons larger than a few pixels, so that
    tile seams cut some of them."""
    from stardist.models import Config2D, StarDist2D

    config = Config2D(n_rays=8, grid=(2, 2), n_channel_in=1, unet_n_depth=1,
                      unet_n_filter_base=4, train_patch_size=(64, 64))
    model = StarDist2D(config, name=folder.name, basedir=str(folder.parent))
    dist = model.keras_model.get_layer("dist")
    kernel, bias = dist.get_weights()
    dist.set_weights([np.zeros_like(kernel), np.full_like(bias, radius)])
    model.keras_model.save_weights(str(folder / "weights_best.h5"))
    return folder


def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test: a run never downloads."""
    def refuse(*args, **kwargs):
        raise AssertionError("the run tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def nuclei_image(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """Bright discs of 8-12 px radius on a noisy background, uint16."""
    rng = np.random.default_rng(seed)
    yy, xx = np.indices(shape)
    image = rng.normal(200, 10, shape)
    for _ in range(shape[0] * shape[1] // 2500):
        cy, cx, r = rng.uniform(0, shape[0]), rng.uniform(0, shape[1]), rng.uniform(8, 12)
        image[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] += 800
    return image.clip(0, 65535).astype(np.uint16)
