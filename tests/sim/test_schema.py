"""The shipped template JSON Schema (§9): itself valid, met by every shipped template, strict elsewhere."""

from __future__ import annotations

from importlib import resources

import pytest
from jsonschema import Draft202012Validator
from tests.sim.factories import template_text

from flowtime.sim import load_catalogue, template_schema
from flowtime.sim.schema import schema_problems
from flowtime.sim.template import template_document

TEMPLATES_DIR = resources.files("flowtime.sim").joinpath("templates")
SHIPPED = sorted(f.name for f in TEMPLATES_DIR.iterdir() if f.name.endswith(".yaml"))


def document(text: str) -> dict[str, object]:
    doc = template_document(text)
    assert isinstance(doc, dict)
    return doc


def violations(text: str) -> list[tuple[str | None, str]]:
    return [(p.path, p.message) for p in schema_problems(document(text))]


def test_schema_is_a_valid_draft_2020_12_schema_with_its_id_and_title() -> None:
    schema = template_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == "https://flowtime.dev/schemas/template.schema.json"
    assert schema["title"] == "FlowTime Template"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_eight_templates_ship_in_the_package() -> None:
    assert len(SHIPPED) == 8


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_template_document_satisfies_the_schema(name: str) -> None:
    text = resources.files("flowtime.sim").joinpath("templates", name).read_text(encoding="utf-8")
    assert schema_problems(document(text)) == []


def test_catalogue_templates_carry_no_schema_problems() -> None:
    assert all(t.schema_problems == () for t in load_catalogue().templates)


def test_factory_template_satisfies_the_schema() -> None:
    assert violations(template_text()) == []


def test_unknown_keys_are_reported_one_per_key_with_their_path() -> None:
    text = template_text(extra="colour: red\n").replace("  captureKey:", "  owner: sre\n  captureKey:")
    assert violations(text) == [
        ("colour", "Unknown key 'colour' is not part of the template format."),
        ("metadata.owner", "Unknown key 'owner' is not part of the template format."),
    ]


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("binSize: 15", "binSize: fifteen", "grid.binSize"),
        ("binUnit: minutes", "binUnit: fortnights", "grid.binUnit"),
        ("  id: checkout", "  id: Checkout", "metadata.id"),
        ("  version: 1.0.0", "  version: v1", "metadata.version"),
        ("  captureKey: checkout-telemetry", "  captureKey: ../x", "metadata.captureKey"),
        ("mode: simulation", "mode: replay", "mode"),
        ("generator: flowtime-sim", "generator: other", "generator"),
        ("  timezone: UTC", "  timezone: CET", "window.timezone"),
        ("    as: Checkout_served.csv", "    as: ../served.csv", "outputs[1].as"),
        ('    kind: expr\n    expr: "demand - served"', "    kind: router", "nodes[3].kind"),
    ],
)
def test_schema_violations_point_at_the_offending_value(old: str, new: str, path: str) -> None:
    text = template_text()
    assert old in text
    assert [p for p, _ in violations(text.replace(old, new))] == [path]


def test_placeholders_are_accepted_where_values_are_typed() -> None:
    text = template_text(grid="grid:\n  bins: ${bins}\n  binSize: ${bins}\n  binUnit: ${unit}\n").replace(
        "parameters:\n", "parameters:\n  - name: unit\n    type: string\n    default: minutes\n"
    )
    assert violations(text) == []


def test_parameter_defaults_must_match_the_declared_type() -> None:
    text = template_text().replace("    default: 0.9\n", "    default: high\n")
    problems = schema_problems(template_document(text))
    assert [p.path for p in problems] == ["parameters[3].default"]


def test_missing_required_sections_are_listed() -> None:
    text = template_text(window="", topology="")
    messages = [m for _, m in violations(text)]
    assert messages == [
        "Template schema: 'window' is a required property.",
        "Template schema: 'topology' is a required property.",
    ]
