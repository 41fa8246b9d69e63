"""Field rules of model.md §1–§5 and §9: every code with its exact message, path, node id and line."""

import math
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from tests.model.factories import codes, const, document, expr, grid, make_model, only, problems_of

from flowtime.errors import Problem
from flowtime.model import Limits, load_model, validate_model


def with_nodes(bins: int, *lines: str) -> str:
    """A document with a ``bins``-long grid whose ``nodes`` are the given YAML lines."""
    header = f"schemaVersion: 1\ngrid: {{bins: {bins}, binSize: 1, binUnit: hours}}\nnodes:\n"
    return header + "".join(f"{line}\n" for line in lines)


def check(text: str, limits: Limits | None = None) -> list[Problem]:
    return validate_model(text) if limits is None else validate_model(text, limits=limits)


def dump(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False)


def summary(problems: list[Problem]) -> list[tuple[str, str, str | None]]:
    return [(p.code, p.message, p.path) for p in problems]


# ------------------------------------------------------------------------------------------------ root


@pytest.mark.parametrize("text", ["- a\n- b\n", "models/a.yaml\n", "42\n", "true\n"])
def test_a_root_that_is_not_a_mapping(text: str) -> None:
    assert summary(check(text)) == [("invalid_type", "root must be a mapping", None)]


@pytest.mark.parametrize(
    ("version", "message"),
    [
        (None, "schemaVersion is required"),
        ("one", "schemaVersion must be an integer"),
        (1.5, "schemaVersion must be an integer"),
        (True, "schemaVersion must be an integer"),
        (2, "schemaVersion must be 1"),
        ("2", "schemaVersion must be 1"),
    ],
)
def test_schema_version(version: object, message: str) -> None:
    doc = document(const("a", [1, 2, 3, 4]))
    doc["schemaVersion"] = version
    assert summary(check(dump(doc))) == [("schema_version", message, "schemaVersion")]


@pytest.mark.parametrize("version", [1, 1.0, "1"])
def test_schema_version_one_in_any_integer_form(version: object) -> None:
    doc = document(const("a", [1, 2, 3, 4]))
    doc["schemaVersion"] = version
    assert check(dump(doc)) == []


@pytest.mark.parametrize("key", ["arrivals", "route"])
def test_legacy_root_keys(key: str) -> None:
    problem = only(problems_of(const("a", [1, 2, 3, 4]), **{key: {"x": 1}}), "legacy_field")
    assert problem.message == (
        f"Top-level '{key}' field is not supported. Use 'nodes' array with node definitions instead."
    )
    assert problem.path == key


def test_provenance_must_be_a_mapping() -> None:
    problem = only(problems_of(const("a", [1, 2, 3, 4]), provenance="generated"), "invalid_type")
    assert problem.message == ("Invalid provenance: Provenance must be an object, not a string or other primitive type")
    assert problem.path == "provenance"


def test_metadata_must_be_a_mapping() -> None:
    assert summary(problems_of(const("a", [1, 2, 3, 4]), metadata=[1])) == [
        ("invalid_type", "metadata must be a mapping", "metadata")
    ]


@pytest.mark.parametrize(("mode", "expected"), [("simulation", "simulation"), ("Telemetry", "telemetry")])
def test_mode_is_case_insensitive(mode: str, expected: str) -> None:
    assert make_model(const("a", [1, 2, 3, 4]), mode=mode).mode == expected


def test_an_unknown_mode() -> None:
    assert summary(problems_of(const("a", [1, 2, 3, 4]), mode="replay")) == [
        ("invalid_value", "Invalid mode 'replay'. Expected 'simulation' or 'telemetry'.", "mode")
    ]


@pytest.mark.parametrize("key", ["classes", "traffic"])
def test_phase_two_root_keys_are_unsupported_when_used(key: str) -> None:
    value: Any = [{"id": "gold"}] if key == "classes" else {"arrivals": [{"nodeId": "a"}]}
    assert summary(problems_of(const("a", [1, 2, 3, 4]), **{key: value})) == [
        ("unsupported_feature", f"{key} is not supported yet (planned)", key)
    ]
    assert problems_of(const("a", [1, 2, 3, 4]), **{key: [] if key == "classes" else {}}) == []


def test_informational_root_keys_are_accepted_silently() -> None:
    model = make_model(
        const("a", [1, 2, 3, 4]),
        window={"start": "2025-01-01T00:00:00Z"},
        generator="flowtime-sim",
        metadata={"id": "m1", "title": "T", "anything": {"nested": [1]}},
        provenance={"source": "x", "weird": [1, 2]},
    )
    assert model.warnings == ()
    assert model.metadata["title"] == "T"
    assert model.provenance == {"source": "x", "weird": [1, 2]}


def test_unknown_root_key_is_a_warning() -> None:
    (problem,) = problems_of(const("a", [1, 2, 3, 4]), colour="blue")
    assert (problem.code, problem.severity, problem.message, problem.path) == (
        "unknown_key",
        "warning",
        "Unknown key 'colour' at colour was ignored",
        "colour",
    )


def test_null_valued_keys_are_absent() -> None:
    assert problems_of(const("a", [1, 2, 3, 4], colour=None, source=None), outputs=None, topology=None, rng=None) == []


# ------------------------------------------------------------------------------------------------ grid


def grid_problems(**fields: Any) -> list[tuple[str, str, str | None]]:
    doc = document(const("a", [1]))
    doc["grid"] = fields
    return [s for s in summary(check(dump(doc))) if s[0] != "const_length_mismatch"]


def test_grid_missing_or_not_a_mapping() -> None:
    doc = document(const("a", [1]))
    del doc["grid"]
    assert summary(check(dump(doc))) == [("grid_invalid", "Model must have a grid definition", "grid")]
    doc["grid"] = [1]
    assert summary(check(dump(doc))) == [("grid_invalid", "Grid must be an object", "grid")]


def test_grid_missing_fields() -> None:
    assert grid_problems() == [
        ("grid_invalid", "Grid must specify bins", "grid.bins"),
        ("grid_invalid", "Grid must specify binSize", "grid.binSize"),
        ("grid_invalid", "Grid must specify binUnit", "grid.binUnit"),
    ]


@pytest.mark.parametrize(
    ("bins", "message"),
    [
        ("many", "bins must be an integer"),
        (2.5, "bins must be an integer"),
        (True, "bins must be an integer"),
        ([1], "bins must be an integer"),
        (0, "bins must be between 1 and 1000000"),
        (-3, "bins must be between 1 and 1000000"),
        (1_000_001, "bins must be between 1 and 1000000"),
    ],
)
def test_bins_rules(bins: object, message: str) -> None:
    assert grid_problems(bins=bins, binSize=1, binUnit="hours") == [("grid_invalid", message, "grid.bins")]


@pytest.mark.parametrize("bins", [1, "1", 1.0, "+1"])
def test_bins_in_any_integer_form(bins: object) -> None:
    assert grid_problems(bins=bins, binSize=1, binUnit="hours") == []


def test_bin_size_rules() -> None:
    assert grid_problems(bins=1, binSize="x", binUnit="hours") == [
        ("grid_invalid", "binSize must be an integer", "grid.binSize")
    ]
    assert grid_problems(bins=1, binSize=1001, binUnit="hours") == [
        ("grid_invalid", "binSize must be between 1 and 1000", "grid.binSize")
    ]


def test_grid_limits_are_configurable() -> None:
    doc = document(const("a", [1] * 20), bins=20)
    doc["grid"]["binSize"] = 60
    limits = Limits(max_bins=10, max_bin_size=30)
    assert summary(check(dump(doc), limits)) == [
        ("grid_invalid", "bins must be between 1 and 10", "grid.bins"),
        ("grid_invalid", "binSize must be between 1 and 30", "grid.binSize"),
    ]


@pytest.mark.parametrize(
    ("unit", "message"),
    [
        ("", "binUnit must be a non-empty string"),
        ("  ", "binUnit must be a non-empty string"),
        ([], "binUnit must be a non-empty string"),
        ("seconds", "binUnit must be one of: minutes, hours, days, weeks"),
        (5, "binUnit must be one of: minutes, hours, days, weeks"),
    ],
)
def test_bin_unit_rules(unit: object, message: str) -> None:
    assert grid_problems(bins=1, binSize=1, binUnit=unit) == [("grid_invalid", message, "grid.binUnit")]


@pytest.mark.parametrize(("unit", "minutes"), [("Minutes", 5), ("HOURS", 300), ("days", 7200), ("Weeks", 50400)])
def test_bin_unit_is_case_insensitive_and_canonical(unit: str, minutes: int) -> None:
    doc = document(const("a", [1]), bins=1)
    doc["grid"] = {"bins": 1, "binSize": 5, "binUnit": unit}
    model = load_model(dump(doc))
    assert (model.grid.bin_unit, model.grid.bin_minutes) == (unit.lower(), minutes)


def test_bin_minutes_is_legacy_and_skips_the_other_grid_checks() -> None:
    assert grid_problems(binMinutes=60) == [
        (
            "legacy_field",
            "binMinutes is no longer supported, use binSize and binUnit instead",
            "grid.binMinutes",
        )
    ]


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2025-03-01T06:00:00Z", datetime(2025, 3, 1, 6, tzinfo=UTC)),
        ("2025-03-01T08:00:00+02:00", datetime(2025, 3, 1, 6, tzinfo=UTC)),
        ("2025-03-01T06:00:00", datetime(2025, 3, 1, 6, tzinfo=UTC)),
        ("2025-03-01T06:00:00.1234567Z", datetime(2025, 3, 1, 6, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_grid_start_is_converted_to_utc(start: str, expected: datetime) -> None:
    doc = document(const("a", [1]), bins=1)
    doc["grid"]["start"] = start
    assert load_model(dump(doc)).grid.start == expected
    del doc["grid"]["start"]
    doc["grid"]["startTimeUtc"] = start
    assert load_model(dump(doc)).grid.start == expected


def test_an_invalid_start() -> None:
    assert grid_problems(bins=1, binSize=1, binUnit="hours", start="yesterday") == [
        ("grid_invalid", "Invalid startTime value: 'yesterday'", "grid.start")
    ]


def test_start_and_start_time_utc_must_agree() -> None:
    same = grid_problems(
        bins=1,
        binSize=1,
        binUnit="hours",
        start="2025-01-01T00:00:00Z",
        startTimeUtc="2025-01-01T01:00:00+01:00",
    )
    assert same == []
    (problem,) = grid_problems(
        bins=1, binSize=1, binUnit="hours", start="2025-01-01T00:00:00Z", startTimeUtc="2025-01-01T01:00:00Z"
    )
    assert problem[0] == "grid_invalid" and problem[2] == "grid.startTimeUtc"


def test_unknown_grid_key() -> None:
    assert grid_problems(bins=1, binSize=1, binUnit="hours", resolution=3) == [
        ("unknown_key", "Unknown key 'resolution' at grid.resolution was ignored", "grid.resolution")
    ]


# ----------------------------------------------------------------------------------------------- nodes


def test_nodes_must_be_a_list_of_mappings() -> None:
    doc = document()
    doc["nodes"] = {"a": 1}
    assert summary(check(dump(doc))) == [("invalid_type", "nodes must be a list", "nodes")]
    doc["nodes"] = [const("a", [1, 2, 3, 4]), "b"]
    assert summary(check(dump(doc))) == [("invalid_type", "nodes[1] must be a mapping", "nodes[1]")]


def test_nodes_may_be_absent() -> None:
    doc = document()
    del doc["nodes"]
    assert load_model(dump(doc)).columns == ()


def test_missing_and_blank_ids() -> None:
    assert summary(problems_of({"kind": "const", "values": [1, 2, 3, 4]}, {"id": "", "values": [1, 2, 3, 4]})) == [
        ("invalid_id", "Node must have an id", "nodes[0].id"),
        ("invalid_id", "Node must have an id", "nodes[1].id"),
    ]


@pytest.mark.parametrize("node_id", ["1abc", "a-b", "a b", "é", "a.b"])
def test_invalid_ids(node_id: str) -> None:
    (problem,) = problems_of(const(node_id, [1, 2, 3, 4]))
    assert (problem.code, problem.path, problem.node_id) == ("invalid_id", "nodes[0].id", node_id)
    assert problem.message == (
        f"Node id '{node_id}' is invalid: ids must start with a letter or '_' and contain only letters, digits and '_'"
    )


def test_a_numeric_id_is_its_source_text() -> None:
    (problem,) = check(
        "schemaVersion: 1\ngrid: {bins: 1, binSize: 1, binUnit: hours}\nnodes:\n  - {id: 007, values: [1]}\n"
    )
    assert problem.message.startswith("Node id '007' is invalid")


def test_ids_that_yaml_1_1_would_read_as_booleans_are_strings() -> None:
    text = with_nodes(1, "  - {id: on, values: [1]}", "  - {id: off, kind: expr, expr: on + 1}")
    assert [c.id for c in load_model(text).columns] == ["on", "off"]


def test_id_length_limit() -> None:
    long_id = "a" * 101
    (problem,) = problems_of(const(long_id, [1, 2, 3, 4]))
    assert problem.code == "limit_exceeded"
    assert problem.message == "Node id '" + "a" * 59 + "…' is 101 characters long; the maximum is 100"
    assert problems_of(const("a" * 100, [1, 2, 3, 4])) == []


def test_duplicate_ids_including_letter_case() -> None:
    problems = problems_of(const("demand", [1, 2, 3, 4]), const("demand", [1, 2, 3, 4]), const("Demand", [1, 2, 3, 4]))
    assert summary(problems) == [
        ("duplicate_id", "Duplicate node id 'demand'", "nodes[1].id"),
        (
            "duplicate_id",
            "Duplicate node id 'Demand' (ids must differ in more than letter case; 'demand' is declared earlier)",
            "nodes[2].id",
        ),
    ]


def test_kind_defaults_to_const_and_is_case_insensitive() -> None:
    model = make_model({"id": "a", "values": [1, 2, 3, 4]}, {"id": "b", "kind": "EXPR", "expr": "a"})
    assert [type(c).__name__ for c in model.columns] == ["ConstColumn", "ExprColumn"]


def test_unknown_and_phase_two_kinds() -> None:
    problems = problems_of({"id": "a", "kind": "table"}, {"id": "r", "kind": "Router"}, expr("b", "a + r"))
    assert summary(problems) == [
        ("unknown_node_kind", "Unknown node kind: table", "nodes[0].kind"),
        ("unsupported_feature", "Node kind 'router' is not supported yet (planned)", "nodes[1].kind"),
    ]  # references to them are not reported again


def test_keys_of_another_kind_are_unknown_keys() -> None:
    problems = problems_of(
        expr("a", "1", values=[1, 2]), const("b", [1, 2, 3, 4], expr="a", dependencies=["a"], initial=3)
    )
    assert summary(problems) == [
        ("unknown_key", "Unknown key 'values' at nodes[0].values was ignored", "nodes[0].values"),
        ("unknown_key", "Unknown key 'expr' at nodes[1].expr was ignored", "nodes[1].expr"),
    ]
    assert all(p.severity == "warning" for p in problems)


# ----------------------------------------------------------------------------------------------- const


def test_const_values_become_a_float_array() -> None:
    (column,) = make_model(const("a", [1, 2.5, "3", "-4e1"])).columns
    assert column.values.dtype.name == "float64"  # type: ignore[union-attr]
    assert column.values.tolist() == [1.0, 2.5, 3.0, -40.0]  # type: ignore[union-attr]


def test_const_length_mismatch() -> None:
    (problem,) = problems_of(const("demand", [5, 5]), bins=3)
    assert (problem.code, problem.message, problem.path, problem.node_id) == (
        "const_length_mismatch",
        "ConstSeriesNode demand: values length 2 != grid length 3",
        "nodes[0].values",
        "demand",
    )


def test_non_numeric_elements_are_each_reported() -> None:
    problems = problems_of(const("a", [1, "x", True, None, [1]]), bins=5)
    assert summary(problems) == [
        ("invalid_value", f"Node a: values[{i}] is not a number", f"nodes[0].values[{i}]") for i in (1, 2, 3, 4)
    ]


@pytest.mark.parametrize("word", ["NaN", "nan", "Infinity", "inf", "-inf", "'NaN'", '".nan"', "1_000", "0x"])
def test_nan_words_are_not_numbers(word: str) -> None:
    text = with_nodes(2, f"  - {{id: a, values: [1, {word}]}}")
    (problem,) = check(text)
    assert (problem.code, problem.message, problem.line) == (
        "invalid_value",
        "Node a: values[1] is not a number",
        4,
    )


def test_yaml_special_floats_are_legal_values() -> None:
    text = with_nodes(5, "  - {id: a, values: [.nan, .NaN, .inf, -.Inf, +.INF]}")
    values = load_model(text).columns[0].values  # type: ignore[union-attr]
    assert math.isnan(values[0]) and math.isnan(values[1])
    assert values[2:].tolist() == [math.inf, -math.inf, math.inf]


def test_values_must_be_a_list() -> None:
    assert summary(problems_of(const("a", [1, 2, 3, 4]) | {"values": 7})) == [
        ("invalid_type", "nodes[0].values must be a list", "nodes[0].values")
    ]


def test_const_without_values() -> None:
    expected = [("missing_field", "Node a: const nodes require values array", "nodes[0].values")]
    assert summary(problems_of({"id": "a"})) == expected
    assert summary(problems_of({"id": "a", "source": "  "})) == expected  # a blank source counts as absent


# ------------------------------------------------------------------------------------------------ expr


def test_expr_required() -> None:
    assert summary(problems_of({"id": "e", "kind": "expr"}, {"id": "f", "kind": "expr", "expr": "  "})) == [
        ("missing_field", "Node e: expr nodes require expr property", "nodes[0].expr"),
        ("missing_field", "Node f: expr nodes require expr property", "nodes[1].expr"),
    ]


def test_legacy_expression_key() -> None:
    assert summary(problems_of({"id": "e", "kind": "expr", "expression": "1 + 1"})) == [
        ("missing_field", "Node e: expr nodes require expr property", "nodes[0].expr"),
        (
            "legacy_field",
            "Node 'e': 'expression' field is no longer supported, use 'expr' instead",
            "nodes[0].expression",
        ),
    ]


def test_a_numeric_expr_is_its_source_text() -> None:
    text = with_nodes(1, "  - {id: e, kind: expr, expr: 2.50}")
    assert load_model(text).columns[0].expr == "2.50"  # type: ignore[union-attr]


def test_expression_problems_carry_path_position_and_line() -> None:
    text = with_nodes(1, "  - id: e", "    kind: expr", "    expr: 'MIN(1, 2'")
    (problem,) = check(text)
    assert (problem.code, problem.path, problem.node_id, problem.position, problem.line) == (
        "expr_parse_error",
        "nodes[0].expr",
        "e",
        8,
        6,
    )
    assert (
        problem.message == "Node e: error parsing expression 'MIN(1, 2': Parse error at position 8: Expected ',' or ')'"
    )


def test_expression_limits_are_configurable() -> None:
    problems = problems_of(expr("e", "1 + 1 + 1"), limits=Limits(max_expression_length=5))
    assert codes(problems) == ["limit_exceeded"]


# ----------------------------------------------------------------------------------- serviceWithBuffer


def buffer(node_id: str = "buf", **fields: Any) -> dict[str, Any]:
    return {"id": node_id, "kind": "serviceWithBuffer", **fields}


def test_service_with_buffer_requires_inflow_and_outflow() -> None:
    assert summary(problems_of(buffer(loss="x"))) == [
        ("missing_field", "ServiceWithBuffer node buf requires 'inflow'.", "nodes[0].inflow"),
        ("missing_field", "ServiceWithBuffer node buf requires 'outflow'.", "nodes[0].outflow"),
        ("unknown_reference", "Node buf: unknown node reference 'x'", "nodes[0].loss"),
    ]


def test_service_with_buffer_wip_rules() -> None:
    nodes = (
        const("a", [1, 2, 3, 4]),
        buffer(inflow="a", outflow="a", wipLimit=-1, dispatchSchedule={"kind": "periodic"}),
    )
    assert summary(problems_of(*nodes)) == [
        ("topology_invalid", "Node buf: wipLimit must be a finite number >= 0", "nodes[1].wipLimit"),
        (
            "unsupported_feature",
            "dispatchSchedule is not supported yet (planned)",
            "nodes[1].dispatchSchedule",
        ),
    ]


# --------------------------------------------------------------------------------------------- outputs


def test_outputs() -> None:
    outputs = [
        {"series": "*"},
        {"series": "A/*"},
        {"series": "a", "as": " a_file ", "id": "o", "description": "d", "exclude": ["x"]},
    ]
    model = make_model(const("a", [1, 2, 3, 4]), outputs=outputs)
    assert [(o.series, o.as_) for o in model.outputs] == [("*", None), ("A/*", None), ("a", "a_file")]
    assert model.warnings == ()


def test_unknown_output_series_is_a_warning() -> None:
    (problem,) = problems_of(const("a", [1, 2, 3, 4]), outputs=[{"series": "A"}])
    assert (problem.code, problem.severity, problem.message, problem.path) == (
        "unknown_output_series",
        "warning",
        "Output references unknown series 'A'.",
        "outputs[0].series",
    )


@pytest.mark.parametrize("name", ["a/b.csv", "a\\b.csv", ".hidden", "  ", ""])
def test_output_as_must_be_a_plain_file_name(name: str) -> None:
    (problem,) = problems_of(const("a", [1, 2, 3, 4]), outputs=[{"series": "a", "as": name}])
    assert (problem.code, problem.path) == ("invalid_value", "outputs[0].as")
    assert problem.message == (
        f"Output 'a': 'as' must be a plain file name (not blank, no '/' or '\\', not starting with '.'), got '{name}'"
    )


def test_output_series_is_required() -> None:
    assert summary(problems_of(const("a", [1, 2, 3, 4]), outputs=[{"as": "x"}, "a"])) == [
        ("missing_field", "outputs[0] must specify series", "outputs[0].series"),
        ("invalid_type", "outputs[1] must be a mapping", "outputs[1]"),
    ]


# ------------------------------------------------------------------------------------------------- rng


@pytest.mark.parametrize(
    ("rng", "expected"),
    [
        ({"kind": "pcg32", "seed": 42}, 42),
        ({"kind": "PCG32"}, None),
        ({"kind": "pcg32", "seed": "-7"}, -7),
        ({"kind": "pcg32", "seed": -(2**63)}, -(2**63)),
        ({"kind": "pcg32", "seed": 2**63 - 1}, 2**63 - 1),
    ],
)
def test_valid_rng(rng: dict[str, Any], expected: int | None) -> None:
    model = make_model(const("a", [1, 2, 3, 4]), rng=rng)
    assert model.rng is not None and (model.rng.kind, model.rng.seed) == ("pcg32", expected)


@pytest.mark.parametrize(
    ("rng", "message", "path"),
    [
        ({"seed": 1}, "rng.kind must be provided when rng is specified.", "rng.kind"),
        ({"kind": "mt19937"}, "Unsupported rng.kind 'mt19937'. Expected 'pcg32'.", "rng.kind"),
        ({"kind": "pcg32", "seed": "abc"}, "rng.seed must be an integer.", "rng.seed"),
        ({"kind": "pcg32", "seed": 1.5}, "rng.seed must be an integer.", "rng.seed"),
        ({"kind": "pcg32", "seed": True}, "rng.seed must be an integer.", "rng.seed"),
        ({"kind": "pcg32", "seed": 2**63}, "rng.seed must be an integer.", "rng.seed"),
    ],
)
def test_invalid_rng(rng: dict[str, Any], message: str, path: str) -> None:
    assert summary(problems_of(const("a", [1, 2, 3, 4]), rng=rng)) == [("rng_invalid", message, path)]


def test_rng_must_be_a_mapping() -> None:
    assert summary(problems_of(const("a", [1, 2, 3, 4]), rng="pcg32")) == [
        ("invalid_type", "rng must be a mapping", "rng")
    ]


# ---------------------------------------------------------------------------------------- report order


def test_problems_come_in_document_order_whatever_the_key_order() -> None:
    text = """rng: {kind: other}
topology:
  nodes:
    - {id: T, semantics: {served: a}}
outputs:
  - {series: nope}
nodes:
  - {id: a, values: [1, 2]}
  - {id: b, kind: expr, expr: "c + 1"}
  - {id: c, kind: expr, expr: "b + 1"}
grid: {bins: 3, binSize: 1, binUnit: hours, extra: 1}
schemaVersion: 2
"""
    assert [(p.code, p.path) for p in check(text)] == [
        ("schema_version", "schemaVersion"),
        ("unknown_key", "grid.extra"),
        ("const_length_mismatch", "nodes[0].values"),
        ("unknown_output_series", "outputs[0].series"),
        ("topology_invalid", "topology.nodes[0].semantics.arrivals"),
        ("rng_invalid", "rng.kind"),
        ("cycle", None),
    ]


def test_every_problem_knows_its_line() -> None:
    text = "schemaVersion: 1\ngrid:\n  bins: 2\n  binSize: 1\n  binUnit: hours\nnodes:\n"
    text += "  - id: a\n    values:\n      - 1\n      - x\n"
    (problem,) = check(text)
    assert (problem.path, problem.line) == ("nodes[0].values[1]", 10)
    assert only(check(text.replace("bins: 2", "bins: 0")), "grid_invalid").line == 3


def test_duplicate_keys_sit_in_their_section() -> None:
    text = with_nodes(1, "  - {id: a, values: [1], values: [2]}", "rng: {kind: x}")
    assert [(p.code, p.path, p.line) for p in check(text)] == [
        ("duplicate_key", "nodes[0].values", 4),
        ("rng_invalid", "rng.kind", 5),
    ]


def test_grid_problems_do_not_cascade_into_length_checks() -> None:
    doc = document(const("a", [1, 2]))
    doc["grid"]["bins"] = "x"
    assert codes(check(dump(doc))) == ["grid_invalid"]


def test_a_valid_model_with_a_zero_length_grid_field_is_reported_once() -> None:
    doc = document(const("a", [1]), bins=1)
    doc["grid"] = grid(0)
    assert codes(check(dump(doc))) == ["grid_invalid"]


@pytest.mark.parametrize(
    ("text", "code", "message", "position"),
    [
        ("MIN(a)", "function_arity", "Node e: MIN function requires exactly 2 arguments", 0),
        (
            "a + SHIFT(a, -1)",
            "invalid_argument",
            "Node e: SHIFT lag parameter must be a non-negative integer",
            13,
        ),
        (
            "a ** 2",
            "expr_parse_error",
            "Node e: error parsing expression 'a ** 2': Parse error at position 3: Unexpected character '*'",
            3,
        ),
    ],
)
def test_expression_checks_reach_the_report(text: str, code: str, message: str, position: int) -> None:
    (problem,) = problems_of(const("a", [1, 2, 3, 4]), expr("e", text))
    assert (problem.code, problem.message, problem.position, problem.path, problem.node_id) == (
        code,
        message,
        position,
        "nodes[1].expr",
        "e",
    )


def test_legacy_expression_key_on_another_kind_is_not_ignored() -> None:
    assert summary(problems_of(const("a", [1, 2, 3, 4], expression="1"))) == [
        (
            "legacy_field",
            "Node 'a': 'expression' field is no longer supported, use 'expr' instead",
            "nodes[0].expression",
        )
    ]
