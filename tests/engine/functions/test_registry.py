"""The function registry: what @register records, lookups, listing."""

from __future__ import annotations

import pytest

from napari_hcs.engine.functions import registry
from napari_hcs.engine.functions.registry import (
    RegistryError,
    cupy,
    get_function,
    list_functions,
    numpy,
    register,
    spec_of,
    torch,
)


@register(memory="torch", output_memory="numpy", category="reg-test",
          special_inputs=("positions",), special_outputs={"cells": "table", "mask": "labels"})
def reg_measure(stack, positions, radius: int = 3, *, mode: str = "mean", **extra):
    """Measure around positions.

    Longer description that is not part of the summary.
    """
    return stack, None, None


@numpy(category="reg-test")
def reg_plain(stack, level: float):
    return stack


@torch
def reg_torchy(stack):
    """Torch."""
    return stack


@cupy(name="reg_gpu")
def reg_cupy_impl(stack):
    """GPU."""
    return stack


def test_register_records_the_contract():
    spec = spec_of(reg_measure)
    assert spec.name == "reg_measure"
    assert spec.qualname == f"{__name__}:reg_measure"
    assert (spec.input_memory, spec.output_memory) == ("torch", "numpy")
    assert spec.category == "reg-test"
    assert spec.special_inputs == ("positions",)
    assert dict(spec.special_outputs) == {"cells": "table", "mask": "labels"}
    assert spec.summary == "Measure around positions."
    # parameters: after the stack, without special inputs and **extra, with hints and defaults
    assert [(p.name, p.annotation, p.default) for p in spec.parameters] == [
        ("radius", int, 3), ("mode", str, "mean")
    ]
    assert reg_measure.__hcs_spec__ is spec  # the function itself is returned unchanged


def test_required_parameters_and_shortcuts():
    assert spec_of(reg_plain).parameter("level").required
    assert spec_of(reg_plain).parameter("nope") is None
    assert spec_of(reg_plain).summary == ""
    assert spec_of(reg_torchy).input_memory == "torch"
    assert spec_of(reg_cupy_impl).name == "reg_gpu"
    assert spec_of(reg_cupy_impl).output_memory == "cupy"


def test_lookup_by_name_and_qualname():
    assert get_function("reg_plain").func is reg_plain
    assert get_function(f"{__name__}:reg_plain").func is reg_plain
    assert spec_of("reg_gpu").func is reg_cupy_impl
    with pytest.raises(RegistryError, match="unknown function 'reg_missing'"):
        get_function("reg_missing")
    with pytest.raises(RegistryError, match="cannot import function"):
        get_function("no.such.module:thing")


def test_qualname_lookup_imports_the_module():
    # a worker process knows only the plan's "module:qualname"; importing registers it
    spec = get_function("registry_import_target:reg_from_import")
    assert spec.name == "reg_from_import"


def test_listing_by_category():
    names = [s.name for s in list_functions("reg-test")]
    assert names == sorted(names) and {"reg_measure", "reg_plain"} <= set(names)
    assert all(s.category == "reg-test" for s in list_functions("reg-test"))
    assert "reg-test" in registry.categories()


def test_duplicate_names_are_refused():
    with pytest.raises(RegistryError, match="already registered"):

        @register(name="reg_plain")
        def other(stack):
            return stack


def test_reregistering_the_same_function_is_fine():
    assert register(reg_plain) is reg_plain  # e.g. a module imported twice


def test_bad_declarations():
    with pytest.raises(ValueError, match="memory type 'jax'"):
        register(lambda s: s, memory="jax", name="reg_bad1")
    with pytest.raises(ValueError, match="unknown kind 'blob'"):
        register(lambda s: s, name="reg_bad2", special_outputs={"x": "blob"})


def test_unregistered_callable():
    with pytest.raises(RegistryError, match="not a registered function"):
        spec_of(len)
