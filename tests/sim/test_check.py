"""Checking a user's template file: loading checks, schema and generation with defaults, all at once."""

from __future__ import annotations

from tests.sim.conftest import EventLog
from tests.sim.factories import PARAMETERS, template_text

from flowtime.sim import check_template


def test_valid_template_reports_nothing() -> None:
    report = check_template(template_text())
    assert report.valid and report.template_id == "checkout"
    assert report.to_dict() == {"valid": True, "templateId": "checkout", "errors": [], "warnings": []}


def test_yaml_errors_stop_at_the_parse() -> None:
    report = check_template("metadata:\n  id: x\n  title: [oops\n")
    assert not report.valid and report.template_id is None
    [error] = report.errors
    assert error.code == "template_yaml_error" and error.message.startswith("YAML parsing error: ")


def test_missing_sections_are_reported_once_by_the_rule_that_names_them() -> None:
    report = check_template(template_text(window="", topology=""))
    assert [(e.code, e.message, e.path) for e in report.errors] == [
        ("window_required", "Template must define window.start (window.timezone defaults to UTC).", "window"),
        ("topology_required", "Template topology must define at least one node.", "topology.nodes"),
    ]


def test_a_template_with_only_metadata_lists_each_missing_section_once() -> None:
    report = check_template("metadata:\n  id: demo\n  title: Demo\n  version: 1.0.0\n")
    assert [(e.code, e.path) for e in report.errors] == [
        ("window_required", "window"),
        ("nodes_required", "nodes"),
        ("outputs_required", "outputs"),
        ("topology_required", "topology.nodes"),
        ("grid_invalid", "grid"),
    ]


def test_schema_violations_no_rule_reports_are_kept() -> None:
    text = template_text().replace("  captureKey: checkout-telemetry", "  captureKey: ../x")
    assert [(e.code, e.path) for e in check_template(text).errors] == [
        ("template_schema_violation", "metadata.captureKey")
    ]


def test_loading_problems_are_all_listed_and_the_schema_does_not_repeat_them() -> None:
    text = template_text(extra="rng:\n  kind: pcg32\n  seed: ${seed}\n").replace("  id: checkout", "  id: Check")
    report = check_template(text)
    assert [(e.code, e.path) for e in report.errors] == [
        ("metadata_id_invalid", "metadata.id"),
        ("placeholder_undeclared", "rng.seed"),
    ]
    assert report.template_id == "Check"


def test_parameter_problems_point_at_the_declaration() -> None:
    report = check_template(template_text(parameters=PARAMETERS.replace("    default: 25\n", "")))
    assert [e.to_dict() for e in report.errors] == [
        {
            "code": "parameter_missing",
            "message": "Parameter 'capacity' has no default and was not provided.",
            "parameter": "capacity",
        }
    ]
    assert report.to_dict()["errors"] == [
        {
            "code": "parameter_missing",
            "message": "Parameter 'capacity' has no default and was not provided.",
            "path": "parameters[2]",
        }
    ]


def test_unknown_keys_are_schema_errors_reported_once() -> None:
    report = check_template(template_text().replace("      kind: service\n", "      kind: service\n      owner: sre\n"))
    assert [(e.code, e.path) for e in report.errors] == [("template_schema_violation", "topology.nodes[0].owner")]
    assert report.warnings == ()


def test_generation_warnings_are_kept() -> None:
    report = check_template(template_text(extra="provenance:\n  note: hand-made\n"))
    assert report.valid
    assert [(w.code, w.path) for w in report.warnings] == [("provenance_key_ignored", "provenance.note")]


def test_rule_and_model_errors_of_the_default_generation_are_reported() -> None:
    text = template_text().replace('expr: "demand - served"', 'expr: "demand - servd"')
    report = check_template(text.replace("  timezone: UTC", "  timezone: CET"))
    assert [e.code for e in report.errors] == ["window_timezone_unsupported", "unknown_reference"]


def test_checking_is_not_a_generation_and_logs_no_generation_event(events: EventLog) -> None:
    report = check_template(template_text().replace('expr: "demand - served"', 'expr: "demand - servd"'))
    assert not report.valid
    assert events.of(1003) == [] and events.of(1004) == []
