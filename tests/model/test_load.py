"""The front door: load_model / validate_model end to end, sources read at load time, hostile input."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.model.factories import const, document, expr, model_text, problems_of

from flowtime.errors import ModelInvalid, Unprocessable
from flowtime.model import ConstColumn, Limits, load_model, validate_model

EXAMPLE_F = """schemaVersion: 1
grid: {bins: 3, binSize: 1, binUnit: hours}
nodes:
  - { id: demand, kind: const, values: [5, 5] }
  - { id: served, kind: expr, expr: "MIN(demand, capacty) * 0.9" }
  - { id: spill,  kind: expr, expr: "LOG(demand)" }
  - { id: a, kind: expr, expr: "b + 1" }
  - { id: b, kind: expr, expr: "a * 2" }
"""


def test_worked_example_f_collects_every_error_in_order() -> None:
    assert [p.to_dict() for p in validate_model(EXAMPLE_F)] == [
        {
            "code": "const_length_mismatch",
            "severity": "error",
            "message": "ConstSeriesNode demand: values length 2 != grid length 3",
            "path": "nodes[0].values",
            "nodeId": "demand",
            "line": 4,
        },
        {
            "code": "unknown_reference",
            "severity": "error",
            "message": "Node served: unknown node reference 'capacty'",
            "path": "nodes[1].expr",
            "nodeId": "served",
            "position": 12,
            "line": 5,
        },
        {
            "code": "unknown_function",
            "severity": "error",
            "message": "Node spill: Unknown function: LOG",
            "path": "nodes[2].expr",
            "nodeId": "spill",
            "position": 0,
            "line": 6,
        },
        {
            "code": "cycle",
            "severity": "error",
            "message": "Graph has a cycle involving nodes: a, b",
            "path": None,
            "nodeId": None,
            "nodes": ["a", "b"],
        },
    ]


def test_load_model_raises_model_invalid_with_every_problem() -> None:
    with pytest.raises(ModelInvalid) as caught:
        load_model(EXAMPLE_F + "colour: red\n")
    error = caught.value
    assert isinstance(error, Unprocessable)
    assert [p.code for p in error.problems] == [
        "unknown_key",
        "const_length_mismatch",
        "unknown_reference",
        "unknown_function",
        "cycle",
    ]
    assert len(error.errors) == 4
    assert error.code == "model_invalid"
    assert [e["code"] for e in error.to_dict()["errors"]] == [p.code for p in error.errors]


def test_a_valid_model_keeps_everything_the_later_layers_read(tmp_path: Path) -> None:
    text = model_text(
        const("a", [1, 2, 3, 4]),
        expr("b", "a * 2"),
        outputs=[{"series": "b", "as": "b.csv"}],
        rng={"kind": "pcg32", "seed": 7},
        mode="telemetry",
        metadata={"id": "m", "title": "Model"},
        provenance={"source": "test"},
        colour="red",
    )
    model = load_model(text, model_dir=tmp_path)
    assert model.grid.bins == 4 and model.declared_count == 2
    assert model.order == ("a", "b")
    assert (model.mode, model.rng and model.rng.seed, model.model_dir) == ("telemetry", 7, tmp_path)
    assert model.metadata == {"id": "m", "title": "Model"}
    assert model.provenance == {"source": "test"}
    assert [(o.series, o.as_) for o in model.outputs] == [("b", "b.csv")]
    assert [w.code for w in model.warnings] == ["unknown_key"]
    assert model.raw["colour"] == "red" and model.raw["nodes"][1]["expr"] == "a * 2"
    assert model.topology is None and dict(model.initial_conditions) == {}


def test_validate_model_reports_warnings_of_a_valid_model() -> None:
    problems = validate_model(model_text(const("a", [1, 2, 3, 4]), colour="red"))
    assert [(p.code, p.severity) for p in problems] == [("unknown_key", "warning")]


def test_bytes_input_is_utf8() -> None:
    model = load_model(model_text(const("a", [1, 2, 3, 4])).encode("utf-8"))
    assert model.columns[0].id == "a"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "yaml_empty"),
        ("\n\n", "yaml_empty"),
        ("- schemaVersion: 1\n", "invalid_type"),
        ("just some words\n", "invalid_type"),
        ("grid: [\n", "yaml_syntax"),
        ("a: 1\n---\na: 2\n", "yaml_syntax"),
    ],
)
def test_non_model_input(text: str, code: str) -> None:
    (problem,) = validate_model(text)
    assert problem.code == code
    with pytest.raises(ModelInvalid) as caught:
        load_model(text)
    assert [p.code for p in caught.value.problems] == [code]


def test_a_100_mb_input_is_refused_by_the_size_limit() -> None:
    text = "x" * (100 * 1024 * 1024)
    (problem,) = validate_model(text)
    assert problem.code == "limit_exceeded"
    assert problem.message == "Model input is 104857600 bytes; the maximum is 67108864 bytes"


def test_the_input_limit_is_configurable() -> None:
    text = model_text(const("a", [1, 2, 3, 4]))
    assert [p.code for p in validate_model(text, limits=Limits(max_input_bytes=20))] == ["limit_exceeded"]


def test_a_const_with_100000_values_loads_them_exactly() -> None:
    values = [round(100 + (i % 977) * 0.37, 2) for i in range(100_000)]
    text = (
        "schemaVersion: 1\ngrid: {bins: 100000, binSize: 5, binUnit: minutes}\nnodes:\n"
        f"  - id: demand\n    values: [{', '.join(map(repr, values))}]\n"
    )
    model = load_model(text)
    column = model.columns[0]
    assert isinstance(column, ConstColumn)
    np.testing.assert_array_equal(column.values, np.array(values))


# ------------------------------------------------------------------------------------------ sources


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "model"
    (directory / "telemetry").mkdir(parents=True)
    (directory / "demand.csv").write_text("bin_index,value\n0,1\n1,2\n2,\n3,NaN\n")
    (directory / "telemetry" / "served.csv").write_text("t,value\n3,4\n2,3\n1,2\n0,1\n")
    (directory / "short.csv").write_text("t,value\n0,1\n")
    (directory / "bad.csv").write_text("t,value\n0,one\n")
    (tmp_path / "secret.csv").write_text("t,value\n0,1\n1,1\n2,1\n3,1\n")
    return directory


def source(node_id: str, uri: str, **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "kind": "const", "source": uri, **extra}


def test_sources_are_read_at_load_time(model_dir: Path) -> None:
    text = model_text(source("demand", "file:demand.csv"), source("served", "file://telemetry/served.csv"))
    model = load_model(text, model_dir=model_dir)
    demand, served = model.columns
    assert isinstance(demand, ConstColumn) and isinstance(served, ConstColumn)
    assert demand.source == "file:demand.csv"
    np.testing.assert_array_equal(demand.values, [1, 2, np.nan, np.nan])
    assert served.values.tolist() == [1, 2, 3, 4]


def test_an_absolute_source_inside_an_allowed_root(model_dir: Path, tmp_path: Path) -> None:
    text = model_text(source("s", f"file://{tmp_path / 'secret.csv'}"))
    assert load_model(text, model_dir=model_dir, allowed_roots=[tmp_path]).columns[0].values.tolist() == [1] * 4  # type: ignore[union-attr]


def test_source_wins_over_values_with_a_warning(model_dir: Path) -> None:
    model = load_model(model_text(source("demand", "file:demand.csv", values=[9, 9, 9, 9])), model_dir=model_dir)
    assert model.columns[0].values[0] == 1.0  # type: ignore[union-attr]
    (warning,) = model.warnings
    assert (warning.code, warning.message, warning.path, warning.node_id) == (
        "const_values_ignored",
        "Node demand: both 'source' and 'values' are given; 'values' are ignored",
        "nodes[0].values",
        "demand",
    )


@pytest.mark.parametrize(
    ("uri", "code", "message"),
    [
        ("file:missing.csv", "source_not_found", "Node s: source 'file:missing.csv' was not found."),
        ("file:telemetry", "source_not_found", "Node s: source 'file:telemetry' was not found."),
        (
            "file:../secret.csv",
            "uri_outside_sandbox",
            "Path for 'file:../secret.csv' escapes the allowed directories.",
        ),
        (
            "file:///etc/passwd",
            "uri_outside_sandbox",
            "Path for 'file:///etc/passwd' escapes the allowed directories.",
        ),
        (
            "https://example.com/a.csv",
            "uri_unsupported",
            "Unsupported URI scheme for 'https://example.com/a.csv'. Only file: URIs are supported.",
        ),
        (
            "demand.csv",
            "uri_unsupported",
            "Unsupported URI scheme for 'demand.csv'. Only file: URIs are supported.",
        ),
        (
            "file:short.csv",
            "telemetry_length_mismatch",
            "Telemetry CSV 'short.csv' contained 1 points but expected 4.",
        ),
        ("file:bad.csv", "telemetry_csv_invalid", "Invalid CSV 'bad.csv' at line 2: invalid value 'one'."),
    ],
)
def test_source_problems(model_dir: Path, uri: str, code: str, message: str) -> None:
    text = model_text(const("before", [0, 0, 0, 0]), source("s", uri))
    (problem,) = validate_model(text, model_dir=model_dir)
    source_line = text.splitlines().index(f"  source: {uri}") + 1
    assert (problem.code, problem.message, problem.path, problem.node_id, problem.line) == (
        code,
        message,
        "nodes[1].source",
        "s",
        source_line,
    )
    assert str(model_dir.parent) not in problem.message


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("file:demand.csv", "Relative file URIs require a model directory for resolution."),
        ("file://telemetry/served.csv", "Telemetry URIs require a model directory for resolution."),
    ],
)
def test_relative_sources_of_a_posted_model_need_a_model_directory(uri: str, message: str) -> None:
    (problem,) = validate_model(model_text(source("s", uri)))
    assert (problem.code, problem.message, problem.node_id) == ("uri_requires_model_dir", message, "s")


def test_sources_are_resolved_but_not_read_when_the_grid_is_broken(model_dir: Path) -> None:
    doc = document(source("a", "file:short.csv"), source("b", "file:../secret.csv"))
    doc["grid"]["bins"] = 0
    problems = validate_model(yaml.safe_dump(doc), model_dir=model_dir)
    assert [p.code for p in problems] == ["grid_invalid", "uri_outside_sandbox"]


# ------------------------------------------------------------------------------------------- robustness

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.sampled_from(["a", "b", "q", "file:x.csv", "file://h/x", "queue", "pmf", "expr", "loss", "*", "SHIFT(a, 1)"]),
)
_NODE_KEYS = ["id", "kind", "values", "expr", "pmf", "source", "inflow", "outflow", "wipLimit", "wipOverflow"]
_TOPOLOGY_KEYS = ["semantics", "arrivals", "served", "queueDepth", "capacity", "retryEcho", "retryKernel"]
_OTHER_KEYS = [
    "initialCondition",
    "nodes",
    "edges",
    "from",
    "to",
    "series",
    "as",
    "probabilities",
    "bins",
    "x",
]
_KEYS = st.sampled_from(_NODE_KEYS + _TOPOLOGY_KEYS + _OTHER_KEYS)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=5),
    max_leaves=12,
)
_ROOT_KEYS = st.sampled_from(
    ["schemaVersion", "grid", "nodes", "outputs", "topology", "rng", "mode", "provenance", "y"]
)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.dictionaries(_ROOT_KEYS, _VALUES, max_size=7))
def test_validation_never_raises_on_arbitrary_documents(doc: dict[str, Any]) -> None:
    problems = validate_model(yaml.safe_dump(doc))
    assert all(p.severity in ("error", "warning") for p in problems)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_validation_never_raises_on_arbitrary_text(text: str) -> None:
    validate_model(text)


def test_problems_of_factory_round_trips() -> None:
    assert problems_of(const("a", [1, 2, 3, 4])) == []


def test_sources_can_be_checked_for_form_only(model_dir: Path) -> None:
    text = model_text(source("s", "file:missing.csv"), source("t", "file:../../outside.csv"))
    model = load_model(text, model_dir=model_dir, read_sources=False)
    assert np.isnan(model.columns[0].values).all() and len(model.columns[0].values) == 4  # type: ignore[union-attr]
    assert model.columns[1].source == "file:../../outside.csv"  # type: ignore[union-attr]
    (problem,) = validate_model(model_text(source("s", "http://x/a.csv")), read_sources=False)
    assert (problem.code, problem.path) == ("uri_unsupported", "nodes[0].source")
