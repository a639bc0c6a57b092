"""Pipeline documents: pipeline -> document -> pipeline is the identity, the document is plain
JSON, and reading one resolves names only through the registry's table, checks signatures and
bounds sizes, reporting every problem at once."""

from __future__ import annotations

import json
import string
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from napari_hcs.engine.codegen import pipeline_from_source, pipeline_to_source
from napari_hcs.engine.functions.registry import list_functions, register
from napari_hcs.engine.pipeline import Pipeline, PipelineConfig, Step, StepConfig
from napari_hcs.engine.pipeline.document import (
    MAX_DEPTH,
    MAX_STEPS,
    DocumentError,
    load_document,
    pipeline_from_document,
    pipeline_to_document,
    read_document,
    save_document,
)
from napari_hcs.pipelines import load, names


@register(category="test")
def doc_smooth(stack, sigma: float = 1.0, mode: str = "reflect"):
    """Smooth."""
    return stack


@register(category="test")
def doc_options(stack, **options):
    """Takes any keyword (so generated keywords always fit its signature)."""
    return stack


@register(category="test")
def doc_needs(stack, level: int):
    """A required parameter."""
    return stack


def _document(*steps, **extra):
    return {"format": "napari-hcs-pipeline", "version": 1, "name": "p", "steps": list(steps),
            **extra}


def _problems(document) -> list[str]:
    with pytest.raises(DocumentError) as info:
        pipeline_from_document(document)
    return [str(p) for p in info.value.problems]


def test_hand_written_pipeline_round_trips_through_json():
    pipeline = Pipeline(
        [
            Step((doc_smooth, {"sigma": 2.5}), name="smooth"),
            Step([doc_smooth, (doc_options, {}), (doc_needs, {"level": 3})],
                 variable_components=("site", "z")),
            Step({"1": (doc_smooth, {"mode": "nearest"}), "DAPI": [doc_smooth, doc_options]},
                 group_by="channel", materialize=True, config=StepConfig(device="cpu")),
            Step((doc_options, {"nested": {"a": [1, 2.5, None, True, "x"]}, "e": []})),
        ],
        name='it\'s "quoted"\n',
        config=PipelineConfig(workers=2, zarr_compression="none"),
    )
    document = pipeline_to_document(pipeline)
    assert pipeline_from_document(json.loads(json.dumps(document))) == pipeline
    assert document["steps"][1]["func"][1] == {"function": "doc_options", "parameters": {}}
    assert document["steps"][2]["func"]["routes"]["1"]["function"] == "doc_smooth"


def test_names_and_tuples_come_back_as_registered_callables_and_lists():
    pipeline = Pipeline([Step(("doc_smooth", {"sigma": 1.0, "x": (1, 2)}))])
    with pytest.raises(DocumentError, match="no parameter 'x'"):
        pipeline_from_document(pipeline_to_document(pipeline))
    back = pipeline_from_document(pipeline_to_document(Pipeline([Step({4: "doc_options"},
                                                                      group_by="channel")])))
    assert back.steps[0].func == {"4": doc_options}


def test_library_functions_travel_by_their_library_path():
    document = _document({"func": {"function": "skimage.filters.gaussian",
                                   "parameters": {"sigma": [1.0, 2.0], "mode": "wrap"}}})
    pipeline = pipeline_from_document(document)
    assert pipeline_to_document(pipeline) == document
    problems = _problems(_document({"func": {"function": "skimage.filters.gaussian",
                                             "parameters": {"mode": "sideways"}}}))
    assert len(problems) == 1 and "'mode' expects" in problems[0]


def test_shipped_pipelines_round_trip_and_run_the_same(tmp_path):
    for name in names():
        pipeline = load(name)
        path = save_document(pipeline, tmp_path / f"{name}.json")
        assert load_document(path) == pipeline == load(path)
        # The file and the document say the same: Python source of the document's pipeline
        assert pipeline_from_source(pipeline_to_source(load_document(path))) == pipeline


@pytest.mark.parametrize("name", [
    "napari_hcs.engine.codegen:pipeline_from_source",
    "pipeline_from_source", "atomic_write_json", "load_pipeline", "napari_hcs.cli:main",
    "os:system", "builtins:eval", "__import__", "doc_smooth.__globals__", "",
])
def test_names_resolve_only_through_the_registry_table(name):
    list_functions()  # the built-in library is imported once, whatever the document says
    before = set(sys.modules)
    problems = _problems(_document({"func": {"function": name, "parameters": {}}}))
    assert len(problems) == 1 and "is not a registered function" in problems[0]
    assert set(sys.modules) == before  # nothing was imported to look the name up


def test_every_problem_is_reported_at_once_naming_step_and_parameter():
    problems = _problems(_document(
        {"func": {"function": "doc_smooth", "parameters": {"sigma": "2", "sigmaa": 1}}},
        {"func": [{"function": "doc_needs"}], "name": "thr", "group_by": 3},
        {"func": {"routes": {"1": [[{"function": "doc_smooth"}]]}}},
        {"func": {"function": "doc_smooth"}, "evil": True, "materialize": "yes"},
        "not a step",
        evil="x", version=2,
    ))
    text = "\n".join(problems)
    assert "step 1 'doc_smooth', parameter 'sigma': doc_smooth: 'sigma' expects float" in text
    assert "parameter 'sigmaa'" in text
    assert "step 2 'thr', parameter 'level': doc_needs needs a value for 'level'" in text
    assert "parameter 'group_by'" in text
    assert "step 3" in text and "a call is an object" in text
    assert "unknown key 'evil'" in text and "`materialize` must be true or false" in text
    assert "step 5 'step': a step is an object" in text
    assert "unsupported document version 2 (written by a newer napari-hcs?)" in text


@pytest.mark.parametrize("value, reason", [
    ({"__class__": {"__init__": "x"}}, "has no parameter|expects"),
    ("__import__('os').system('touch /tmp/x')", None),  # a string is only ever a string
    (float("inf"), "not a JSON number"),
    (b"bytes", "bytes is not a JSON value"),
    ({1: "int key"}, "is not a string"),
    ("x" * 20_000, "longer than"),
])
def test_parameter_values_are_json_data_only(value, reason):
    document = _document({"func": {"function": "doc_smooth", "parameters": {"mode": value}}})
    if reason is None:
        pipeline = pipeline_from_document(document)
        assert pipeline.steps[0].func[1]["mode"] == value
        return
    with pytest.raises(DocumentError, match=reason):
        pipeline_from_document(document)


def test_sizes_are_bounded_before_anything_is_read():
    deep: object = 1
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(DocumentError, match="nests deeper"):
        pipeline_from_document(_document({"func": {"function": "doc_options",
                                                   "parameters": {"deep": deep}}}))
    many = [{"func": {"function": "doc_options"}}] * (MAX_STEPS + 1)
    with pytest.raises(DocumentError, match=f"at most {MAX_STEPS}"):
        pipeline_from_document(_document(*many))
    with pytest.raises(DocumentError, match="more than 20000 values"):
        pipeline_from_document(_document({"func": {"function": "doc_options",
                                                   "parameters": {"a": [0] * 200_000}}}))
    with pytest.raises(DocumentError, match="nests 10000 levels deep"):
        read_document("[" * 10_000 + "]" * 10_000)
    with pytest.raises(DocumentError, match="more than 20000 JSON items"):
        read_document("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DocumentError, match="not UTF-8 JSON"):
        read_document('{"format": NaN}')
    with pytest.raises(DocumentError, match="JSON object"):
        pipeline_from_document([1, 2])


def test_pipelines_that_cannot_be_documents_are_named():
    with pytest.raises(DocumentError, match="not a registered function"):
        pipeline_to_document(Pipeline([Step(lambda stack: stack)]))
    with pytest.raises(DocumentError, match="set has no JSON form|cannot go into"):
        pipeline_to_document(Pipeline([Step((doc_options, {"s": {1, 2}}))]))
    with pytest.raises(DocumentError, match="has no JSON form"):
        pipeline_to_document(Pipeline([Step((doc_options, {"s": float("nan")}))]))


# --- generated pipelines -------------------------------------------------------------------

keys = st.text(string.ascii_lowercase + "_", min_size=1, max_size=8)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=6)
calls = st.one_of(
    st.sampled_from([doc_smooth, doc_options]),
    st.tuples(st.just(doc_options), st.dictionaries(keys, json_values, max_size=3)),
    st.tuples(st.just(doc_smooth), st.fixed_dictionaries(
        {}, optional={"sigma": st.floats(0, 10), "mode": st.sampled_from(["reflect", "wrap"])})),
)
chains = st.lists(calls, min_size=1, max_size=3)
patterns = calls | chains | st.dictionaries(st.sampled_from(["1", "2", "DAPI"]), calls | chains,
                                            min_size=1, max_size=3)
components = ("site", "channel", "z", "timepoint")
maybe = st.none().__or__
steps = st.builds(
    Step, func=patterns, name=maybe(st.text(max_size=20)),
    variable_components=st.lists(st.sampled_from(components), unique=True, max_size=2),
    group_by=maybe(st.sampled_from(components)), materialize=st.booleans(),
    config=maybe(st.builds(StepConfig, device=maybe(st.sampled_from(["cpu", "cuda:1"])),
                           zarr_compression=maybe(st.sampled_from(["zstd", "none"])))),
)
pipelines = st.builds(
    Pipeline, steps=st.lists(steps, max_size=4), name=st.text(max_size=20),
    config=maybe(st.builds(PipelineConfig, workers=maybe(st.integers(1, 64)),
                           zarr_levels=maybe(st.integers(1, 8)))),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipelines)
def test_generated_pipelines_round_trip(pipeline):
    document = pipeline_to_document(pipeline)
    text = json.dumps(document, allow_nan=False)  # plain JSON, no Python objects
    assert pipeline_from_document(json.loads(text)) == pipeline
    assert pipeline_to_document(pipeline_from_document(document)) == document
