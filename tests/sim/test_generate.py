"""The generation pipeline (§5): parameter checks, substitution, rules, the generated model and its ids."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.sim.conftest import EventLog
from tests.sim.factories import (
    GRID,
    HEADER,
    NODES,
    OUTPUTS,
    PARAMETERS,
    TOPOLOGY,
    WINDOW,
    make_template,
    template_text,
)

from flowtime.errors import InvalidInput
from flowtime.model import validate_model
from flowtime.sim import (
    GenerationResult,
    InvalidMode,
    ParameterInvalid,
    RngOverride,
    Template,
    TemplateInvalid,
    TemplateYamlError,
    generate_model,
)

NOW = datetime(2026, 3, 2, 8, 15, 42, 123456, tzinfo=UTC)


def generate(template: Template | None = None, values: dict[str, Any] | None = None, **kwargs: Any) -> GenerationResult:
    return generate_model(template or make_template(), values or {}, now=kwargs.pop("now", NOW), **kwargs)


def invalid(text: str, values: dict[str, Any] | None = None) -> list[tuple[str, str, str | None]]:
    with pytest.raises(TemplateInvalid) as caught:
        generate(make_template(text), values)
    return [(p.code, p.message, p.path) for p in caught.value.problems]


def codes(text: str) -> list[str]:
    return [code for code, _, _ in invalid(text)]


# ------------------------------------------------------------------------------------ generated model


def expected_substituted_text() -> str:
    """The factory template with its placeholders replaced by hand (parameters section untouched)."""
    nodes = (
        NODES.replace("${demand}", "[10, 20, 30, 40]")
        .replace("${demandSource}", '""')
        .replace("${capacity}", "25")
        .replace("${efficiency}", "0.9")
    )
    return HEADER + WINDOW + PARAMETERS + GRID.replace("${bins}", "4") + TOPOLOGY + nodes + OUTPUTS


def test_generated_model_text_with_defaults() -> None:
    model_id = hashlib.sha256(expected_substituted_text().encode("utf-8")).hexdigest()
    result = generate()
    assert result.model == (
        "schemaVersion: 1\n"
        "generator: flowtime-sim\n"
        "mode: simulation\n"
        "metadata:\n"
        "  id: checkout\n"
        "  title: Checkout\n"
        "  version: 1.0.0\n"
        "  captureKey: checkout-telemetry\n"
        "window:\n"
        "  start: 2025-01-01T00:00:00Z\n"
        "  timezone: UTC\n"
        "grid:\n"
        "  bins: 4\n"
        "  binSize: 15\n"
        "  binUnit: minutes\n"
        "  start: 2025-01-01T00:00:00Z\n"
        "topology:\n"
        "  nodes:\n"
        "    - id: Checkout\n"
        "      kind: service\n"
        "      semantics:\n"
        "        arrivals: demand\n"
        "        served: served\n"
        "        errors: unmet\n"
        "        capacity: capacity\n"
        "  edges: []\n"
        "nodes:\n"
        "  - id: demand\n"
        "    kind: const\n"
        "    values: [10, 20, 30, 40]\n"
        "  - id: capacity\n"
        "    kind: expr\n"
        '    expr: "25"\n'
        "  - id: served\n"
        "    kind: expr\n"
        "    expr: MIN(demand, capacity * 0.9)\n"
        "  - id: unmet\n"
        "    kind: expr\n"
        "    expr: demand - served\n"
        "outputs:\n"
        "  - series: demand\n"
        "    as: Checkout_arrivals.csv\n"
        "  - series: served\n"
        "    as: Checkout_served.csv\n"
        "provenance:\n"
        "  source: flowtime-sim\n"
        "  generator: flowtime-sim/0.1.0\n"
        "  generatedAt: 2026-03-02T08:15:42.123456Z\n"
        "  templateId: checkout\n"
        "  templateVersion: 1.0.0\n"
        "  mode: simulation\n"
        f"  modelId: {model_id}\n"
        "  schemaVersion: 1\n"
        "  parameters:\n"
        "    bins: 4\n"
        "    demand: [10, 20, 30, 40]\n"
        "    capacity: 25\n"
        "    efficiency: 0.9\n"
        '    demandSource: ""\n'
    )
    assert result.model_id == model_id
    assert result.warnings == ()


def test_result_provenance_and_metadata() -> None:
    result = generate()
    assert result.provenance == {
        "source": "flowtime-sim",
        "generator": "flowtime-sim/0.1.0",
        "generatedAt": "2026-03-02T08:15:42.123456Z",
        "templateId": "checkout",
        "templateVersion": "1.0.0",
        "mode": "simulation",
        "modelId": result.model_id,
        "schemaVersion": 1,
        "parameters": {
            "bins": 4,
            "demand": [10, 20, 30, 40],
            "capacity": 25,
            "efficiency": 0.9,
            "demandSource": "",
        },
    }
    assert result.metadata == {
        "templateId": "checkout",
        "templateTitle": "Checkout",
        "templateVersion": "1.0.0",
        "schemaVersion": 1,
        "generator": "flowtime-sim",
        "mode": "simulation",
        "hasWindow": True,
        "hasTopology": True,
        "hasTelemetrySources": False,
        "stochastic": False,
        "rngSeed": None,
        "modelHash": result.metadata["modelHash"],
    }
    assert result.metadata["modelHash"].startswith("sha256:") and len(result.metadata["modelHash"]) == 71
    assert list(result.to_dict()) == ["model", "provenance", "metadata", "warnings"]


def test_generated_model_passes_the_model_validator_without_any_problem() -> None:
    assert validate_model(generate().model) == []


def test_model_id_is_stable_across_time_while_the_model_hash_is_not() -> None:
    first = generate(now=datetime(2026, 1, 1, tzinfo=UTC))
    second = generate(now=datetime(2026, 1, 1, 0, 0, 1, 500000, tzinfo=UTC))
    assert first.model_id == second.model_id
    assert first.provenance["generatedAt"] != second.provenance["generatedAt"]
    assert first.metadata["modelHash"] != second.metadata["modelHash"]
    assert generate(values={"capacity": 26}).model_id != first.model_id


def test_supplied_values_are_coerced_and_rendered() -> None:
    result = generate(values={"capacity": "30", "efficiency": 1, "demand": "[1, 2, 3, 4]", "bins": 4.0})
    assert "    expr: MIN(demand, capacity * 1)\n" in result.model
    assert '    expr: "30"\n' in result.model
    assert "    values: [1, 2, 3, 4]\n" in result.model
    assert result.provenance["parameters"]["capacity"] == 30


# ---------------------------------------------------------------------------------- parameter errors


def test_every_parameter_problem_is_reported_at_once() -> None:
    with pytest.raises(ParameterInvalid) as caught:
        generate(values={"bins": "four", "capacity": 0, "demand": [10, 200, "x", 40], "colour": "red"})
    body = caught.value.to_dict()
    assert body["code"] == "parameter_invalid"
    assert body["errors"] == [
        {"code": "parameter_type", "message": "Parameter 'bins' must be an integer.", "parameter": "bins"},
        {
            "code": "parameter_below_minimum",
            "message": "Parameter 'capacity' value 0 is below minimum 1.",
            "parameter": "capacity",
        },
        {
            "code": "parameter_above_maximum",
            "message": "Parameter 'demand' element at index 1 (200) exceeds maximum 100.",
            "parameter": "demand",
            "index": 1,
        },
        {
            "code": "parameter_type",
            "message": "Parameter 'demand' element at index 2 must be an integer.",
            "parameter": "demand",
            "index": 2,
        },
        {
            "code": "parameter_unknown",
            "message": "Unknown parameter 'colour' for template 'checkout'.",
            "parameter": "colour",
        },
    ]
    assert body["error"] == "; ".join(e["message"] for e in body["errors"])


def test_placeholder_of_a_parameter_without_default_or_value_is_missing() -> None:
    template = make_template(parameters=PARAMETERS.replace("    default: 25\n", ""))
    with pytest.raises(ParameterInvalid) as caught:
        generate(template)
    assert [(p.code, p.message) for p in caught.value.problems] == [
        ("parameter_missing", "Parameter 'capacity' has no default and was not provided.")
    ]
    assert generate(template, {"capacity": 40}).provenance["parameters"]["capacity"] == 40


def test_malformed_placeholders_are_reported_before_substitution() -> None:
    template = make_template(template_text().replace('expr: "demand - served"', 'expr: "demand - ${served"'))
    with pytest.raises(ParameterInvalid) as caught:
        generate(template)
    assert [(p.code, p.message, p.path) for p in caught.value.problems] == [
        ("placeholder_invalid", "Invalid placeholder '${served\"'.", "nodes[3].expr")
    ]


def test_wrong_array_length_names_the_parameter_and_not_the_engine_rule() -> None:
    assert invalid(template_text(), {"demand": [1, 2, 3]}) == [
        (
            "parameter_length_mismatch",
            "Parameter 'demand' provides 3 values but grid.bins is 4; const node 'demand' requires matching length.",
            "nodes[0].values",
        )
    ]
    assert [c for c, _, _ in invalid(template_text(), {"bins": 5})] == ["parameter_length_mismatch"]


def test_literal_values_of_the_wrong_length_fail_with_the_engine_message() -> None:
    text = template_text().replace("    values: ${demand}\n", "    values: [1, 2]\n")
    message = "ConstSeriesNode demand: values length 2 != grid length 4"
    assert invalid(text) == [("const_length_mismatch", message, "nodes[0].values")]


def test_literal_values_are_length_checked_even_when_a_source_replaces_them() -> None:
    text = template_text().replace("    values: ${demand}\n", "    values: [1, 2]\n")
    found = invalid(text, {"demandSource": "file:///srv/capture/arrivals.csv"})
    assert [c for c, _, _ in found] == ["const_length_mismatch"]


def test_value_that_breaks_the_yaml_is_a_template_yaml_error_with_position() -> None:
    with pytest.raises(TemplateYamlError) as caught:
        generate(values={"demandSource": "[unclosed"})
    [problem] = caught.value.problems
    assert problem.code == "template_yaml_error"
    assert problem.message.startswith("YAML parsing error: ")
    assert "(line " in problem.message and problem.message.endswith(").")


# --------------------------------------------------------------------------------------------- modes


def test_invalid_mode_is_rejected() -> None:
    with pytest.raises(InvalidMode) as caught:
        generate(mode="replay")
    assert caught.value.code == "invalid_mode"
    assert caught.value.message == "Invalid mode 'replay'. Expected 'simulation' or 'telemetry'."


def test_mode_override_changes_model_and_provenance_but_not_the_rules() -> None:
    result = generate(mode="Telemetry")
    assert "\nmode: telemetry\n" in result.model
    assert result.provenance["mode"] == "telemetry" and result.metadata["mode"] == "telemetry"
    no_served = template_text().replace("        served: served\n", "")
    with pytest.raises(TemplateInvalid) as caught:
        generate(make_template(no_served), mode="telemetry")
    assert [p.code for p in caught.value.problems] == ["topology_semantics_required"]
    declared_telemetry = no_served.replace("mode: simulation", "mode: TELEMETRY")
    assert codes(declared_telemetry) == ["topology_invalid"]


# ---------------------------------------------------------------------------------------- rule errors


# (text to replace, replacement, (code, message, path)) — one template rule or model rule each.
RULE_CASES = [
    (
        "schemaVersion: 1",
        "schemaVersion: 2",
        ("schema_version_unsupported", "Unsupported schemaVersion 2. Expected 1.", "schemaVersion"),
    ),
    (
        "generator: flowtime-sim",
        "generator: acme-sim",
        ("generator_unsupported", "Unsupported generator 'acme-sim'. Expected 'flowtime-sim'.", "generator"),
    ),
    (
        "mode: simulation",
        "mode: replay",
        (
            "mode_unsupported",
            "Unsupported template mode 'replay'. Expected 'simulation' or 'telemetry'.",
            "mode",
        ),
    ),
    (
        "  title: Checkout\n",
        "",
        ("metadata_required", "Template metadata.title is required.", "metadata.title"),
    ),
    (
        "  version: 1.0.0\n",
        "  version: '1.0'\n",
        (
            "metadata_version_invalid",
            "Template metadata.version '1.0' must be a semantic version (e.g. 1.0.0).",
            "metadata.version",
        ),
    ),
    (
        "window:\n  start: 2025-01-01T00:00:00Z\n  timezone: UTC\n",
        "",
        ("window_required", "Template must define window.start (window.timezone defaults to UTC).", "window"),
    ),
    (
        "  start: 2025-01-01T00:00:00Z",
        "  start: 2025-01-01T00:00:00+02:00",
        (
            "window_start_invalid",
            "Template window.start '2025-01-01T00:00:00+02:00' must be an ISO-8601 UTC timestamp.",
            "window.start",
        ),
    ),
    (
        "  start: 2025-01-01T00:00:00Z",
        "  start: soon",
        (
            "window_start_invalid",
            "Template window.start 'soon' must be an ISO-8601 UTC timestamp.",
            "window.start",
        ),
    ),
    (
        "  timezone: UTC",
        "  timezone: Europe/Paris",
        (
            "window_timezone_unsupported",
            "Template window.timezone 'Europe/Paris' is not supported; only 'UTC' is allowed.",
            "window.timezone",
        ),
    ),
    (
        '    kind: expr\n    expr: "demand - served"',
        "    kind: serviceWithBuffer\n    inflow: demand\n    outflow: served",
        (
            "node_kind_unsupported",
            "Unsupported node kind 'serviceWithBuffer' for node 'unmet'.",
            "nodes[3].kind",
        ),
    ),
    (
        "  - series: served\n",
        "  - series: servd\n",
        ("output_unknown_series", "Output references unknown series 'servd'.", "outputs[1].series"),
    ),
    (
        "      kind: service\n",
        "      kind: ' '\n",
        ("topology_kind_required", "Topology node 'Checkout' requires a kind.", "topology.nodes[0].kind"),
    ),
    (
        "        errors: unmet\n",
        "        errors: unmett\n",
        (
            "topology_semantics_unknown_node",
            "Topology node 'Checkout' semantics.errors references unknown node 'unmett'.",
            "topology.nodes[0].semantics.errors",
        ),
    ),
    (
        "        arrivals: demand\n",
        "",
        (
            "topology_semantics_required",
            "Topology node 'Checkout' must define semantics.arrivals in simulation mode.",
            "topology.nodes[0].semantics.arrivals",
        ),
    ),
    (
        '    expr: "demand - served"',
        '    expr: "demand - servd"',
        ("unknown_reference", "Node unmet: unknown node reference 'servd'", "nodes[3].expr"),
    ),
    (
        "  binUnit: minutes",
        "  binUnit: fortnights",
        ("grid_invalid", "binUnit must be one of: minutes, hours, days, weeks", "grid.binUnit"),
    ),
]


@pytest.mark.parametrize(("old", "new", "expected"), RULE_CASES)
def test_each_rule_reports_its_code_message_and_path(old: str, new: str, expected: tuple[str, str, str]) -> None:
    text = template_text()
    assert old in text
    assert invalid(text.replace(old, new)) == [expected]


def test_required_sections() -> None:
    assert ("outputs_required", "Template must define at least one output.", "outputs") in invalid(
        template_text(outputs="outputs: []\n")
    )
    assert (
        "topology_required",
        "Template topology must define at least one node.",
        "topology.nodes",
    ) in invalid(template_text(topology="topology:\n  nodes: []\n"))
    assert "nodes_required" in codes(template_text(nodes="nodes: []\n"))


def test_more_than_one_topology_node_needs_edges() -> None:
    topology = TOPOLOGY.replace(
        "  edges: []\n",
        "    - id: Backend\n      kind: service\n"
        "      semantics:\n        arrivals: served\n        served: served\n"
        "  edges: []\n",
    )
    assert invalid(template_text(topology=topology)) == [
        ("topology_edges_required", "Topology with more than one node requires edges.", "topology.edges")
    ]


def test_pmf_probabilities_must_sum_to_one_without_renormalising() -> None:
    nodes = NODES + "  - id: jitter\n    kind: pmf\n    pmf:\n      values: [1, 2]\n      probabilities: [0.5, 0.4]\n"
    assert invalid(template_text(nodes=nodes)) == [
        ("pmf_sum_invalid", "PMF node 'jitter': probabilities must sum to 1.0.", "nodes[4].pmf")
    ]


DEPS = "nodes[3].dependencies"


def test_declared_dependencies_must_match_the_references() -> None:
    nodes = NODES.replace(
        '    expr: "demand - served"\n', '    expr: "demand - served"\n    dependencies: [demand, capacity]\n'
    )
    assert invalid(template_text(nodes=nodes)) == [
        ("dependencies_mismatch", "Expression node 'unmet' is missing dependencies for: served.", DEPS),
        ("dependencies_mismatch", "Expression node 'unmet' declares unused dependencies: capacity.", DEPS),
    ]  # fmt: skip
    good = NODES.replace(
        '    expr: "demand - served"\n', '    expr: "demand - served"\n    dependencies: [served, demand]\n'
    )
    assert generate(make_template(template_text(nodes=good))).warnings == ()


def test_rng_without_seed_is_rejected() -> None:
    assert invalid(template_text(extra="rng:\n  kind: pcg32\n")) == [
        ("rng_seed_required", "rng.seed is required when rng is specified.", "rng.seed")
    ]


def test_model_rules_are_collected_with_template_rules() -> None:
    text = template_text().replace("schemaVersion: 1", "schemaVersion: 2")
    text = text.replace('    expr: "demand - served"', '    expr: "SHIFT(unmet, 1) + served"')
    text = text.replace('    expr: "${capacity}"', '    expr: "LOG(${capacity})"')
    assert [c for c, _, _ in invalid(text)] == [
        "schema_version_unsupported",
        "unknown_function",
        "self_shift_requires_initial_condition",
    ]


def test_bad_source_uri_is_checked_for_form_only() -> None:
    assert invalid(template_text(), {"demandSource": "http://example.com/a.csv"}) == [
        (
            "uri_unsupported",
            "Unsupported URI scheme for 'http://example.com/a.csv'. Only file: URIs are supported.",
            "nodes[0].source",
        )
    ]


# ------------------------------------------------------------------------------ transformations


def test_telemetry_bound_const_node_keeps_only_its_source() -> None:
    result = generate(values={"demandSource": "file:///srv/capture/checkout/arrivals.csv"}, mode="telemetry")
    assert (
        "  - id: demand\n    kind: const\n    source: file:///srv/capture/checkout/arrivals.csv\n  - id:"
        in result.model
    )
    assert result.metadata["hasTelemetrySources"] is True
    assert validate_model(result.model.replace("file:///srv/capture/checkout/arrivals.csv", "file:missing.csv"))


def test_aliases_are_renamed_and_grid_start_taken_from_its_alias() -> None:
    text = (
        template_text()
        .replace('    expr: "demand - served"', '    expression: "demand - served"')
        .replace("  - series: served\n    as: Checkout_served.csv", "  - source: served\n    filename: served.csv")
        .replace("  binUnit: minutes\n", "  binUnit: minutes\n  startTimeUtc: 2025-02-01T00:00:00Z\n")
    )
    model = generate(make_template(text)).model
    assert "    expr: demand - served\n" in model and "expression" not in model
    assert "  - series: served\n    as: served.csv\n" in model
    assert "  start: 2025-02-01T00:00:00Z\n" in model and "startTimeUtc" not in model


def test_semantic_and_edge_aliases_are_normalised() -> None:
    topology = (
        "topology:\n  nodes:\n"
        "    - id: Intake\n      kind: queue\n"
        "      semantics:\n        arrivals: demand\n        served: served\n"
        "        queue: backlog\n        external_demand: demand\n        slaMin: 5\n"
        "      initialCondition:\n        queueDepth: 2\n"
        "    - id: Checkout\n      kind: service\n"
        "      semantics:\n        arrivals: served\n        served: served\n"
        "  edges:\n    - source: Intake:out\n      target: Checkout\n      weight: 0.5\n"
    )
    nodes = NODES + '  - id: backlog\n    kind: expr\n    expr: "MAX(0, SHIFT(backlog, 1) + demand - served)"\n'
    model = generate(make_template(template_text(topology=topology, nodes=nodes))).model
    assert (
        "      semantics:\n        arrivals: demand\n        served: served\n        externalDemand: demand\n"
        "        queueDepth: backlog\n        slaMin: 5\n      initialCondition:\n        queueDepth: 2\n"
    ) in model
    assert "  edges:\n    - from: Intake:out\n      to: Checkout\n      weight: 0.5\n" in model
    assert validate_model(model) == []


def test_unknown_keys_and_ignored_provenance_keys_are_warnings() -> None:
    text = template_text(extra="provenance:\n  source: lab\n  generator: lab-gen/2\n  modelId: forged\n").replace(
        "      kind: service\n", "      kind: service\n      owner: sre\n"
    )
    result = generate(make_template(text))
    assert [(w.code, w.message, w.path) for w in result.warnings] == [
        (
            "unknown_key",
            "Unknown key 'owner' at topology.nodes[0].owner was ignored",
            "topology.nodes[0].owner",
        ),
        (
            "provenance_key_ignored",
            "Template provenance key 'modelId' is ignored; only 'source' and 'generator' are honoured.",
            "provenance.modelId",
        ),
    ]
    assert result.provenance["source"] == "lab" and result.provenance["generator"] == "lab-gen/2"
    assert result.provenance["modelId"] != "forged"
    assert "owner" not in result.model
    assert result.to_dict()["warnings"][0] == {
        "code": "unknown_key",
        "message": "Unknown key 'owner' at topology.nodes[0].owner was ignored",
        "path": "topology.nodes[0].owner",
    }


# ---------------------------------------------------------------------------------------------- rng


RNG = 'rng:\n  kind: PCG32\n  seed: "42"\n'


def test_template_rng_is_kept_with_an_integer_seed() -> None:
    result = generate(make_template(template_text(extra=RNG)))
    assert "\nrng:\n  kind: PCG32\n  seed: 42\nprovenance:\n" in result.model
    assert (result.rng_seed, result.effective_seed, result.metadata["stochastic"]) == (42, 42, True)


def test_request_rng_replaces_or_adds_the_block() -> None:
    replaced = generate(make_template(template_text(extra=RNG)), rng=RngOverride(seed=7))
    assert "\nrng:\n  kind: pcg32\n  seed: 7\n" in replaced.model and replaced.rng_seed == 7
    added = generate(rng=RngOverride(seed=-5, kind="PCG32"))
    assert "\nrng:\n  kind: pcg32\n  seed: -5\n" in added.model and added.effective_seed == -5


def test_without_any_rng_the_effective_seed_is_123_and_the_model_has_no_rng() -> None:
    result = generate()
    assert (result.rng_seed, result.effective_seed) == (None, 123)
    assert "\nrng:" not in result.model


@pytest.mark.parametrize("override", [RngOverride(seed=1, kind="mt19937"), RngOverride(seed=2**63)])
def test_invalid_request_rng_is_rejected(override: RngOverride) -> None:
    with pytest.raises(InvalidInput) as caught:
        generate(rng=override)
    assert caught.value.code == "rng_invalid"


# ---------------------------------------------------------------------------------------------- logs


def test_generation_logs_1003_and_failures_1004(events: EventLog) -> None:
    result = generate()
    [done] = events.of(1003)
    assert (
        done["templateId"],
        done["templateVersion"],
        done["mode"],
        done["modelId"],
        done["parameterCount"],
    ) == (
        "checkout",
        "1.0.0",
        "simulation",
        result.model_id,
        5,
    )
    assert done["durationMs"] >= 0
    with pytest.raises(ParameterInvalid):
        generate(values={"bins": 0, "nope": 1})
    [failed] = events.of(1004)
    assert (failed["templateId"], failed["code"], failed["errorCount"], failed["level"]) == (
        "checkout",
        "parameter_invalid",
        2,
        "warning",
    )


def test_extra_pmf_keys_are_dropped_with_a_warning() -> None:
    pmf = "  - id: jitter\n    kind: pmf\n    pmf:\n      values: [1, 2]\n      probabilities: [0.5, 0.5]\n"
    result = generate(make_template(template_text(nodes=NODES + pmf + "      policy: repeat\n")))
    assert [(w.code, w.path) for w in result.warnings] == [("unknown_key", "nodes[4].pmf.policy")]
    assert "policy" not in result.model
    assert "    pmf:\n      values: [1, 2]\n      probabilities: [0.5, 0.5]\n" in result.model
    assert result.metadata["stochastic"] is True and result.rng_seed is None
