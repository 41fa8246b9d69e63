"""The catalogue: shipped templates plus an extra directory, skip rules and their log events (§10.1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.sim.conftest import EventLog
from tests.sim.factories import template_text

from flowtime.errors import InvalidInput, NotFound
from flowtime.sim import Catalogue, TemplateNotFound, TemplateProblem, load_catalogue

SHIPPED_IDS = [
    "http-service",
    "it-system-microservices",
    "manufacturing-line",
    "microservices",
    "network-reliability",
    "order-system",
    "supply-chain-multi-tier",
    "transportation-basic",
]


def write(directory: Path, name: str, text: str | bytes) -> Path:
    path = directory / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def with_id(template_id: str, **parts: str) -> str:
    return template_text(**parts).replace("id: checkout", f"id: {template_id}")


def test_shipped_catalogue_lists_eight_templates_sorted_by_id(events: EventLog) -> None:
    catalogue = load_catalogue()
    assert [t.id for t in catalogue.templates] == SHIPPED_IDS
    assert catalogue.skipped == 0
    assert events.of(1001) == [
        {
            "event": "TemplateCatalogLoaded",
            "level": "info",
            "eventId": 1001,
            "templateCount": 8,
            "skippedCount": 0,
            "source": "package",
        }
    ]
    assert events.of(1002) == []


def test_shipped_summaries_carry_capture_keys_and_stochastic_flags(catalogue: Catalogue) -> None:
    summaries = {t.id: t.summary() for t in catalogue.templates}
    assert summaries["transportation-basic"]["captureKey"] == "transportation-basic-telemetry"
    assert summaries["it-system-microservices"]["captureKey"] == "it-system-telemetry"
    assert summaries["http-service"]["captureKey"] == "http-service-telemetry"
    assert [i for i, s in summaries.items() if s["stochastic"]] == ["network-reliability"]
    assert all(s["version"] == "1.0.0" and s["category"] == "general" for s in summaries.values())
    assert summaries["microservices"]["parameterCount"] == 14


def test_extra_directory_adds_templates_in_file_name_order(tmp_path: Path, events: EventLog) -> None:
    write(tmp_path, "b.yml", with_id("zeta"))
    write(tmp_path, "a.yaml", with_id("alpha"))
    write(tmp_path, "notes.txt", "not a template")
    (tmp_path / "nested").mkdir()
    write(tmp_path / "nested", "c.yaml", with_id("nested-one"))
    catalogue = load_catalogue(tmp_path)
    assert [t.id for t in catalogue.templates] == ["alpha", *SHIPPED_IDS, "zeta"]
    assert events.of(1001)[0]["source"] == "package+directory"
    assert events.of(1001)[0]["templateCount"] == 10


def test_broken_files_are_skipped_with_event_1002_and_the_rest_still_load(tmp_path: Path, events: EventLog) -> None:
    write(tmp_path, "1-yaml.yaml", "metadata: {id: broken\n")
    write(tmp_path, "2-shipped-id.yaml", with_id("http-service"))
    write(tmp_path, "3-good.yaml", with_id("good"))
    write(tmp_path, "4-duplicate.yaml", with_id("good"))
    write(tmp_path, "5-undeclared.yaml", with_id("undeclared").replace("binSize: 15", "binSize: ${size}"))
    write(tmp_path, "6-bad-default.yaml", with_id("bad-default").replace("default: 25", "default: 0"))
    write(tmp_path, "7-no-id.yaml", template_text(header="metadata:\n  title: No id\n"))
    catalogue = load_catalogue(tmp_path)
    assert "good" in catalogue and len(catalogue) == 9
    assert catalogue.skipped == 6
    failures = [(e["file"].rsplit("/", 1)[-1], e["code"]) for e in events.of(1002)]
    assert failures == [
        ("1-yaml.yaml", "template_yaml_error"),
        ("2-shipped-id.yaml", "template_duplicate_id"),
        ("4-duplicate.yaml", "template_duplicate_id"),
        ("5-undeclared.yaml", "placeholder_undeclared"),
        ("6-bad-default.yaml", "parameter_default_invalid"),
        ("7-no-id.yaml", "metadata_required"),
    ]
    assert all(e["level"] == "warning" and e["error"] for e in events.of(1002))
    assert events.of(1001)[0]["skippedCount"] == 6


def test_schema_violations_are_logged_but_the_template_is_listed(tmp_path: Path, events: EventLog) -> None:
    write(tmp_path, "no-window.yaml", with_id("no-window", window=""))
    catalogue = load_catalogue(tmp_path)
    assert "no-window" in catalogue
    logged = events.of(1002)
    assert [(e["code"], e["error"]) for e in logged] == [
        ("template_schema_violation", "Template schema: 'window' is a required property. (window)")
    ]
    assert catalogue.get("no-window").schema_problems == (
        TemplateProblem(
            "template_schema_violation", "Template schema: 'window' is a required property.", path="window"
        ),
    )


def test_unknown_id_is_template_not_found() -> None:
    with pytest.raises(TemplateNotFound) as caught:
        load_catalogue().get("does-not-exist")
    assert isinstance(caught.value, NotFound)
    assert caught.value.code == "template_not_found"
    assert caught.value.message == "Template not found: does-not-exist"


def test_missing_extra_directory_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        load_catalogue(tmp_path / "missing")
    assert caught.value.code == "templates_dir_not_found"
