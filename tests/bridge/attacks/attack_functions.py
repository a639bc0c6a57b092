"""Registered functions the attack suite's server loads (`--allow-module attack_functions`)."""

from __future__ import annotations

from napari_hcs import register


@register(memory="numpy", category="testing")
def attack_tag(stack, note: str = ""):
    """Return the stack unchanged: a string parameter is data, whatever it says."""
    return stack
