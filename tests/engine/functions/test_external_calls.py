"""Every registered library function, called once on a small stack: the pipeline's contract.

Each is called as a pipeline step calls it (a (2, 24, 28) stack, per plane) with its defaults,
plus the example values its index entry records, with their reason, for the few that need
one (a required `sigma`, a kernel, a `size` whose default None raises). The output must keep
the stack's shape and have the real or boolean dtype the index recorded.

pyclesperanto functions are marked slow: on a CPU OpenCL driver (POCL) the first call of each
compiles its kernel (about half a second, minutes for all of them on a cold kernel cache); a
handful of them run in the fast set.
"""

from __future__ import annotations

import pytest

from napari_hcs.engine.compiler.validate import check_call
from napari_hcs.engine.functions.external import all_specs, entry_of
from napari_hcs.engine.functions.external.probe import sample

FAST_OPENCL = ("cle.gaussian_blur", "cle.top_hat_box", "cle.threshold_otsu",
               "cle.connected_components_labeling", "cle.dilate_labels")


def _cases() -> list:
    cases = []
    for spec in all_specs():
        slow = spec.name.startswith("cle.") and spec.name not in FAST_OPENCL
        cases.append(pytest.param(spec, id=spec.name,
                                  marks=[pytest.mark.slow] if slow else []))
    return cases


@pytest.mark.parametrize("spec", _cases())
def test_called_with_its_defaults_keeps_the_contract(spec):
    entry = entry_of(spec)
    example = entry["example"]
    if example:  # the few that need a value: the index says which and why
        assert entry["example_reason"], spec.name
    assert check_call(spec, example) == []  # what the compiler would say of this call
    stack = sample(entry["input"], (2, 24, 28))
    out = spec.func(stack, **example)
    assert out.shape == stack.shape
    assert out.dtype.kind in "biuf"
    if entry["output_dtype"]:
        assert str(out.dtype) == entry["output_dtype"]
