"""A token holder tries to make the server run code through a submitted pipeline. Every attempt
is refused before anything runs, nothing is imported, and the sentinel the code would create
never exists (the `nothing_outside_changes` fixture checks it and the outside folder)."""

from __future__ import annotations

import base64
import pickle
import sys

import pytest
from attack_arena import fresh, spec
from attack_functions import attack_tag

from napari_hcs.bridge.client import ServerError
from napari_hcs.engine.pipeline import Pipeline, Step
from napari_hcs.engine.plate.generator import write_sample_plate


@pytest.fixture(scope="module")
def plate(arena):
    return write_sample_plate(arena.root / "plate", "imagexpress", spec())


def document(*calls, **step):
    return {"format": "napari-hcs-pipeline", "version": 1, "name": "evil",
            "steps": [{"func": list(calls), **step}]}


def submit(client, arena, plate, pipeline):
    return client.request("submit", pipeline=pipeline, plate=str(plate),
                          out=str(arena.root / "out-evil"))


def code(arena) -> str:
    return f"open({str(arena.sentinel)!r}, 'w').write('pwned')"


@pytest.mark.parametrize("function, parameters", [
    ("napari_hcs.engine.codegen:pipeline_from_source", {"source": "CODE"}),
    ("napari_hcs.engine.codegen.reader:pipeline_from_source", {"source": "CODE"}),
    ("pipeline_from_source", {"source": "CODE"}),
    ("napari_hcs.engine.vfs.atomic:atomic_write_json", {"path": "SENTINEL", "obj": {}}),
    ("atomic_write_json", {"path": "SENTINEL", "obj": {}}),
    ("atomic_write_bytes", {"path": "SENTINEL", "data": "x"}),
    ("napari_hcs.engine.codegen:load_pipeline", {"path": "SENTINEL"}),
    ("load_pipeline", {"path": "SENTINEL"}),
    ("napari_hcs.cli:main", {"argv": ["sample", "SENTINEL"]}),
    ("main", {"argv": ["sample", "SENTINEL"]}),
    ("builtins:eval", {"source": "CODE"}),
    ("builtins:exec", {"source": "CODE"}),
    ("__import__", {"name": "os"}),
    ("os:system", {"command": "touch SENTINEL"}),
    ("subprocess:run", {"args": ["touch", "SENTINEL"]}),
    ("attack_tag.__globals__", {}),
    ("attack_tag:__call__", {}),
    ("no_such_function", {}),
    # library functions that open files or take callables are not in the registry's table
    ("skimage.io.imread", {"fname": "SENTINEL"}),
    ("skimage.io.imsave", {"fname": "SENTINEL", "arr": [[0]]}),
    ("skimage.data.download_all", {"directory": "SENTINEL"}),
    ("ndimage.generic_filter", {"function": "CODE"}),
    ("skimage.util.apply_parallel", {"function": "CODE"}),
])
def test_functions_outside_the_registry_are_refused(client, arena, plate, function,
                                                    parameters):
    values = {k: (code(arena) if v == "CODE" else str(arena.sentinel) if v == "SENTINEL" else v)
              for k, v in parameters.items()}
    with pytest.raises(ServerError, match="is not a registered function"):
        submit(client, arena, plate, document({"function": function, "parameters": values}))
    assert client.list_runs() == []


def test_a_module_named_on_the_wire_is_never_imported(client, arena, plate, tmp_path,
                                                      monkeypatch):
    module = f"evil_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{module}.py").write_text(
        f"open({str(arena.sentinel)!r}, 'w').write('imported')\ndef x(stack):\n    return stack\n")
    monkeypatch.syspath_prepend(str(tmp_path))  # importable, were anyone to import it
    for name in (f"{module}:x", f"{module}.x", module, f"{module}:x.__call__"):
        with pytest.raises(ServerError, match="is not a registered function"):
            submit(client, arena, plate, document({"function": name}))
        with pytest.raises(ServerError, match="is not a registered function"):
            submit(client, arena, plate, document(
                {"function": "attack_tag"}, {"function": name, "parameters": {"stack": 1}}))
    assert module not in sys.modules


@pytest.mark.parametrize("pipeline, reason", [
    ("from napari_hcs.engine.codegen import pipeline_from_source\npipeline = "
     "pipeline_from_source('import os')\n", "pipeline document"),
    (base64.b64encode(pickle.dumps(print)).decode(), "pipeline document"),
    (["attack_tag"], "pipeline document"),
    (None, "pipeline document"),
    ({"format": "napari-hcs-pipeline", "version": 1, "steps": [{"func": "attack_tag"}]},
     "a call is an object"),
    ({"format": "napari-hcs-pipeline", "version": 1, "steps": [],
      "__class__": "napari_hcs.cli:main"}, "unknown key '__class__'"),
    ({"format": "napari-hcs-pipeline", "version": 1,
      "steps": [{"func": {"function": "attack_tag"}, "__init__": {"function": "main"}}]},
     "unknown key '__init__'"),
    ({"format": "python", "version": 1, "steps": []}, "`format` must be"),
])
def test_anything_but_a_document_is_refused(client, arena, plate, pipeline, reason):
    with pytest.raises(ServerError, match=reason):
        submit(client, arena, plate, pipeline)
    assert client.list_runs() == []


@pytest.mark.parametrize("value", [
    {"__class__": {"__init__": {"__globals__": "os"}}},
    {"__reduce__": ["os.system", ["touch SENTINEL"]]},
    ["__import__", "os"],
    {"py/object": "os.system"},
])
def test_objects_in_parameter_values_stay_data(client, arena, plate, value):
    with pytest.raises(ServerError, match="'note' expects str"):
        submit(client, arena, plate, document({"function": "attack_tag",
                                               "parameters": {"note": value}}))


def test_a_string_that_looks_like_code_is_only_a_string(client, arena, plate):
    pipeline = Pipeline([Step((attack_tag, {"note": "__import__('os').system('touch "
                                            f"{arena.sentinel}')"}))])
    out = fresh(arena, "out-string")
    run = client.submit(pipeline, plate, out, wells=["A01"])
    assert client.wait(run, timeout_s=120)["status"] == "ok"
    assert (out / "plate.zarr").is_dir()  # it ran, as data, and nothing else happened
