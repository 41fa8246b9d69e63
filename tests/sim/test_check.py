"""Checking a user's template file: loading checks, schema and generation with defaults, all at once."""

from __future__ import annotations

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


def test_missing_sections_are_reported_by_the_schema_and_by_generation() -> None:
    report = check_template(template_text(window="", topology=""))
    assert [(e.code, e.path) for e in report.errors] == [
        ("template_schema_violation", None),
        ("template_schema_violation", None),
        ("window_required", "window"),
        ("topology_required", "topology.nodes"),
    ]


def test_loading_problems_and_schema_problems_are_all_listed() -> None:
    text = template_text(extra="rng:\n  kind: pcg32\n  seed: ${seed}\n").replace(
        "  id: checkout", "  id: Check"
    )
    report = check_template(text)
    assert [(e.code, e.path) for e in report.errors] == [
        ("metadata_id_invalid", "metadata.id"),
        ("placeholder_undeclared", None),
        ("template_schema_violation", "metadata.id"),
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
    report = check_template(
        template_text().replace("      kind: service\n", "      kind: service\n      owner: sre\n")
    )
    assert [(e.code, e.path) for e in report.errors] == [
        ("template_schema_violation", "topology.nodes[0].owner")
    ]
    assert report.warnings == ()


def test_generation_warnings_are_kept() -> None:
    report = check_template(template_text(extra="provenance:\n  note: hand-made\n"))
    assert report.valid
    assert [(w.code, w.path) for w in report.warnings] == [("provenance_key_ignored", "provenance.note")]


def test_rule_and_model_errors_of_the_default_generation_are_reported() -> None:
    text = template_text().replace('expr: "demand - served"', 'expr: "demand - servd"')
    report = check_template(text.replace("  timezone: UTC", "  timezone: CET"))
    assert [e.code for e in report.errors] == [
        "template_schema_violation",
        "window_timezone_unsupported",
        "unknown_reference",
    ]
