"""Functions registered for the compiler tests (numpy, torch and cupy, with special I/O)."""

from __future__ import annotations

from typing import Literal

from napari_hcs.engine.functions.registry import register


@register(category="test")
def cmp_blur(stack, sigma: float = 1.0, mode: Literal["reflect", "wrap"] = "reflect"):
    """Blur each plane."""
    return stack


@register(category="test")
def cmp_threshold(stack, level: int, invert: bool = False, size: tuple[int, int] | None = None):
    """Threshold with a required level."""
    return stack


@register(memory="torch", category="test")
def cmp_torch_scale(stack, factor: float = 2.0):
    """Scale a torch stack."""
    return stack * factor


@register(memory="cupy", category="test")
def cmp_cupy_invert(stack):
    """Invert on the GPU."""
    return -stack


@register(category="test", special_inputs=("stage_positions",),
          special_outputs={"positions": "positions"})
def cmp_find_positions(stack, stage_positions, overlap: float = 0.1):
    """Refine tile positions."""
    return stack, stage_positions


@register(category="test", special_inputs=("positions",))
def cmp_assemble(stack, positions, blend: bool = True):
    """Assemble tiles at positions."""
    return stack


@register(category="test", special_outputs={"labels": "labels", "cells": "table"})
def cmp_segment(stack, min_area: int = 10):
    """Segment nuclei."""
    return stack, stack, None


@register(category="test", special_inputs=("cells",))
def cmp_measure(stack, cells, **options):
    """Measure, passing any extra option through."""
    return stack
