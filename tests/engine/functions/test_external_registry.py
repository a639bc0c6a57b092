"""Library functions in the registry: names, listing, laziness, the index file, legacy names."""

from __future__ import annotations

import copy
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from napari_hcs.engine.functions import external
from napari_hcs.engine.functions.external.index import (
    CACHE_ENV,
    SOURCES,
    get_index,
    index_path,
    load_index,
    source_of,
    write_index,
)
from napari_hcs.engine.functions.external.wrapper import ContractError
from napari_hcs.engine.functions.registry import RegistryError, get_function, list_functions
from napari_hcs.napari.pipeline_edit import search_functions

SRC = str(Path(external.__file__).parents[4])


def _python(code: str, **env: str) -> str:
    environ = {**os.environ, "PYTHONPATH": SRC, **env}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=environ, timeout=240)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_at_least_300_functions_are_listed_and_searchable():
    pytest.importorskip("pyclesperanto")
    specs = list_functions()
    library = [s for s in specs if external.entry_of(s) is not None]
    assert len(specs) >= 300 and len(library) >= 280
    assert {s.name.split(".")[0] for s in library} == {"skimage", "ndimage", "cle"}
    found = {s.name for s in search_functions(specs, "gaussian")}
    assert {"gaussian_blur", "skimage.filters.gaussian", "ndimage.gaussian_filter",
            "cle.gaussian_blur"} <= found
    assert {s.name for s in search_functions(specs, "median filters")} >= {
        "ndimage.median_filter", "skimage.filters.median"}


def test_listing_imports_no_library_module():
    # warm cache: listing reads the JSON index, it neither parses docstrings nor imports
    # scikit-image's other modules or pyclesperanto; using a function imports its own module
    get_index()
    out = _python(
        "import sys\n"
        "from napari_hcs.engine.functions.registry import get_function, list_functions\n"
        "n = len(list_functions())\n"
        "watch = ('skimage.restoration', 'skimage.transform', 'pyclesperanto', "
        "'docstring_parser', 'scipy.stats')\n"
        "print(n, [m for m in watch if m in sys.modules])\n"
        "from napari_hcs.engine.executor.worker import warm\n"
        "warm(['napari_hcs.engine.functions.external:skimage.restoration."
        "denoise_tv_chambolle'])\n"
        "print([m for m in watch if m in sys.modules])\n")
    listed, used = out.splitlines()
    assert listed.endswith(" []") and int(listed.split()[0]) >= 150
    assert used.startswith("['skimage.restoration'") and "pyclesperanto" not in used


def test_names_are_library_paths_and_resolve_everywhere():
    spec = get_function("skimage.filters.gaussian")
    assert spec.qualname == "napari_hcs.engine.functions.external:skimage.filters.gaussian"
    assert get_function(spec.qualname) is spec  # how plans and workers refer to it
    assert external.skimage.filters.gaussian is spec.func  # how pipeline files do
    assert "gaussian" in dir(external.skimage.filters)
    assert external.ndimage.median_filter is get_function("ndimage.median_filter").func
    assert spec.input_memory == spec.output_memory == "numpy"
    assert spec.category == "filters" and spec.summary == "Multi-dimensional Gaussian filter."
    sigma = spec.parameter("sigma")
    assert sigma.default == 1 and "Standard deviation" in sigma.doc
    assert "gaussian" in spec.func.__doc__ and "sigma:" in spec.func.__doc__


def test_names_that_are_not_pipeline_functions_say_why():
    with pytest.raises(RegistryError, match="threshold_otsu cannot be a pipeline step: "
                                            "returns a single value"):
        get_function("skimage.filters.threshold_otsu")
    with pytest.raises(RegistryError, match="needs `function` \\(a function\\)"):
        get_function("ndimage.generic_filter")
    with pytest.raises(RegistryError, match="not a function of a supported library"):
        get_function("skimage.io.imread")  # a module we never import
    with pytest.raises(RegistryError, match="not a public function"):
        get_function("ndimage.no_such_filter")
    with pytest.raises(AttributeError, match="returns a single value"):
        _ = external.skimage.filters.threshold_otsu


def test_functions_of_0_1_keep_their_names():
    for old, new in external.LEGACY_NAMES.items():
        assert get_function(old).name == new
    from napari_hcs.engine.functions.registry import sobel  # how their pipeline files read

    assert sobel is get_function("skimage.filters.sobel").func


def test_pickle_and_copies_keep_the_registered_function():
    func = get_function("ndimage.uniform_filter").func
    assert pickle.loads(pickle.dumps(func)) is func
    assert copy.deepcopy(func) is func and copy.copy(func) is func


def test_per_plane_by_default_whole_stack_on_request():
    func = get_function("ndimage.maximum_filter").func
    stack = np.zeros((3, 5, 5), np.float32)
    stack[1, 2, 2] = 1.0
    per_plane = func(stack, size=3)
    assert per_plane[1].sum() == 9 and per_plane[0].sum() == per_plane[2].sum() == 0
    assert func(stack, size=3, as_volume=True).sum() == 27  # the 3-D neighbourhood
    assert "as_volume" not in [p.name for p in get_function("skimage.filters.sobel_h").parameters]


def test_kernels_can_be_given_as_nested_lists():
    stack = np.random.default_rng(0).random((2, 9, 9)).astype(np.float32)
    out = get_function("ndimage.convolve").func(stack, weights=[[0, 0, 0], [0, 1, 0], [0, 0, 0]])
    np.testing.assert_allclose(out, stack)


def test_a_parameter_that_resizes_is_a_clear_error():
    func = get_function("skimage.transform.rotate").func
    with pytest.raises(ContractError, match="skimage.transform.rotate returned shape"):
        func(np.zeros((2, 10, 14), np.float32), angle=30.0, resize=True)


def test_index_is_validated_json(tmp_path):
    index = get_index()
    path = tmp_path / "functions.json"
    assert write_index(index, path)
    assert load_index(path).functions == index.functions
    data = json.loads(path.read_text())

    def tampered(change) -> Path:
        bad = copy.deepcopy(data)
        change(bad)
        target = tmp_path / "bad.json"
        target.write_text(json.dumps(bad))
        return target

    first = data["functions"][0]["name"]
    assert load_index(tampered(lambda d: d["functions"][0].update(name="os.system"))) is None
    assert load_index(tampered(
        lambda d: d["functions"][0].update(name="skimage.io.imread"))) is None
    assert load_index(tampered(lambda d: d["functions"][0].update(dims="4d"))) is None
    assert load_index(tampered(
        lambda d: d["functions"][0]["parameters"].append({"name": "x;y", "type": []}))) is None
    assert load_index(tampered(lambda d: d.update(schema=99))) is None
    (tmp_path / "junk.json").write_text("{not json")
    assert load_index(tmp_path / "junk.json") is None
    assert first in index.functions
    # a cache that cannot be written: the index stays in memory
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert write_index(index, blocker / "functions.json") is False


def test_the_cache_file_is_where_the_environment_says():
    get_index()
    assert index_path().parent == Path(os.environ[CACHE_ENV])
    assert index_path().is_file()
    assert get_index().versions["scikit-image"]


def test_one_function_described_alone_equals_its_index_entry():
    # a worker without the index describes only the function it needs: same entry
    index = get_index()
    for name in ("skimage.filters.gaussian", "ndimage.median_filter",
                 "skimage.morphology.remove_small_objects", "skimage.measure.label"):
        entry, reason = source_of(name).describe(name)
        assert entry == index.functions[name], reason
    assert "skimage.morphology.label" in index.excluded  # registered once, under measure


def test_a_worker_without_an_index_resolves_by_name(tmp_path):
    out = _python(
        "from napari_hcs.engine.functions.registry import get_function\n"
        "import numpy as np\n"
        "f = get_function('ndimage.median_filter').func\n"
        "print(f(np.arange(2 * 16.0).reshape(2, 4, 4), size=3).shape)\n",
        **{CACHE_ENV: str(tmp_path)})
    assert out.strip() == "(2, 4, 4)"
    assert list(tmp_path.iterdir()) == []  # describing one function writes no index


def test_every_source_maps_names_to_its_own_modules_only():
    for source in SOURCES:
        assert source.target(f"{source.prefix}._private") is None
        assert source.target("os.path.join") is None
    assert source_of("cucim.skimage.filters.gaussian").prefix == "cucim.skimage"
    assert source_of("skimage.filters.gaussian").prefix == "skimage"
