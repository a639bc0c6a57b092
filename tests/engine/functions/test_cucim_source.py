"""cucim.skimage (CUDA): registration logic, checked without CUDA.

cucim re-implements scikit-image's API on cupy arrays, and its functions are registered from
their scikit-image twins' probe results and their own signatures. Where cucim cannot be
installed (no CUDA, as here), the derivation runs on scikit-image itself standing in for the
module tree cucim mirrors; what it produces is what a CUDA machine registers. Calls on cupy
arrays themselves need a GPU and are not tested here.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from napari_hcs.engine.compiler import CompileError, compile_pipeline
from napari_hcs.engine.functions.external import spec_from_entry
from napari_hcs.engine.functions.external.cucim_source import CucimSource
from napari_hcs.engine.functions.external.index import get_index
from napari_hcs.engine.functions.registry import RegistryError, get_function
from napari_hcs.engine.pipeline import Pipeline, Step
from napari_hcs.engine.plate.layout_only import LayoutOnlyReader
from napari_hcs.engine.plate.model import PlateLayout

HAS_CUCIM = importlib.util.find_spec("cucim") is not None


@pytest.fixture(scope="module")
def derived():
    skimage_entries = {n: e for n, e in get_index().functions.items()
                       if n.startswith("skimage.")}
    stand_in = CucimSource(package="skimage")
    return stand_in.build(skimage_entries), skimage_entries


def test_every_registered_skimage_function_gets_a_cuda_twin(derived):
    (entries, excluded), twins = derived
    assert set(entries) == {"cucim." + n for n in twins}
    assert not excluded
    gaussian = entries["cucim.skimage.filters.gaussian"]
    twin = twins["skimage.filters.gaussian"]
    assert gaussian["parameters"] == twin["parameters"]
    assert (gaussian["dims"], gaussian["input"]) == (twin["dims"], twin["input"])
    assert entries["cucim.skimage.filters.rank.mean"]["example"]["footprint"]


def test_a_cuda_twin_is_a_cupy_function_in_its_own_namespace(derived):
    (entries, _), _ = derived
    spec = spec_from_entry(entries["cucim.skimage.morphology.white_tophat"])
    assert spec.input_memory == spec.output_memory == "cupy"
    assert spec.qualname == ("napari_hcs.engine.functions.external:"
                             "cucim.skimage.morphology.white_tophat")
    assert spec.func.backend == "cupy"
    assert spec.func.target == ("cucim.skimage.morphology", "white_tophat")


def test_a_twin_missing_from_cucim_or_needing_more_is_left_out():
    source = CucimSource(package="skimage")
    twin = dict(get_index().functions["skimage.filters.gaussian"], example={})
    entry, reason = source.derive("cucim.skimage.filters.no_such_function", twin)
    assert entry is None and "has no no_such_function" in reason
    twin = dict(get_index().functions["ndimage.gaussian_filter"])
    entry, reason = source.derive("cucim.skimage.restoration.wiener", dict(twin, example={}))
    assert entry is None and "needs balance, psf" in reason


@pytest.mark.skipif(HAS_CUCIM, reason="cucim is installed here")
def test_without_cucim_its_names_say_what_to_install():
    with pytest.raises(RegistryError, match="cucim is not installed.*gpu-cupy"):
        get_function("cucim.skimage.filters.gaussian")
    assert not [n for n in get_index().functions if n.startswith("cucim.")]


def test_the_compiler_keeps_cupy_functions_off_cpu_steps(derived):
    (entries, _), _ = derived
    # the spec a CUDA machine's index would hold (not added to this process's registry)
    spec = spec_from_entry(entries["cucim.skimage.filters.sobel"])
    layout = PlateLayout(format="memory", root=Path("/plates/p"), wells=("A01",), sites=(1,),
                         channels=("1",), z=(1,), timepoints=(1,), shape=(64, 64),
                         dtype="uint16")
    with pytest.raises(CompileError, match="cucim.skimage.filters.sobel uses cupy arrays, "
                                           "which need a CUDA device"):
        compile_pipeline(Pipeline([Step(spec.func)]), LayoutOnlyReader(layout))
