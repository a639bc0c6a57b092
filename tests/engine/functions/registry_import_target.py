"""A module that registers a function when imported (for lookups by `module:qualname`)."""

from napari_hcs.engine.functions.registry import register


@register(category="reg-test")
def reg_from_import(stack):
    return stack
