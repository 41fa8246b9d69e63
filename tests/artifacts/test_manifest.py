"""The JSON documents (§7–§11): key order, fallbacks, text conversion of YAML scalars."""

from __future__ import annotations

from datetime import date

import numpy as np
from tests.artifacts.factories import example_model

from flowtime.artifacts.manifest import (
    SeriesEntry,
    manifest_document,
    metadata_document,
    plain,
    provenance_document,
    scalar_text,
    warning_lines,
)
from flowtime.errors import Problem


def metadata(model=None, spec_text: str = "schemaVersion: 1\n", **options):
    options.setdefault("provenance", None)
    options.setdefault("forced_mode", None)
    options.setdefault("replaced_nodes", None)
    return metadata_document(
        model=model or example_model(),
        spec_text=spec_text,
        model_hash="sha256:m",
        received_utc="2025-01-01T00:00:00.000000Z",
        seed=123,
        **options,
    )


def test_series_entry_kinds_and_units() -> None:
    flow = SeriesEntry.for_column("handled", state=False, points=4, hash_="sha256:h")
    state = SeriesEntry.for_column("q", state=True, points=4, hash_="sha256:q")
    assert (flow.id, flow.kind, flow.unit, flow.component_id, flow.class_id) == (
        "handled@HANDLED@DEFAULT",
        "flow",
        "entities/bin",
        "HANDLED",
        "DEFAULT",
    )
    assert (state.kind, state.unit, state.path) == ("state", "entities", "series/q@Q@DEFAULT.csv")


def test_warning_lines_dedupe_in_first_occurrence_order() -> None:
    a = Problem("a", "first", "warning")
    b = Problem("b", "second", "warning", path="x")
    assert warning_lines([a, b, a, Problem("b", "second", "warning", path="y")]) == ["a: first", "b: second"]


def test_metadata_from_model_metadata_wins_over_provenance() -> None:
    model = example_model(metadata={"id": "m-id", "title": "M", "version": "2.0.0"}, mode="Telemetry")
    document = metadata(
        model, provenance={"modelId": "x", "templateId": "p-id", "templateTitle": "P", "mode": "simulation"}
    )
    assert (document["templateId"], document["templateTitle"], document["templateVersion"]) == (
        "m-id",
        "M",
        "2.0.0",
    )
    assert document["mode"] == "simulation"  # provenance mode before the model's


def test_metadata_falls_back_to_provenance_then_defaults() -> None:
    document = metadata(
        provenance={"modelId": "x", "templateVersion": "1.2.0", "generatedAtUtc": "2026-01-01T00:00:00Z"}
    )
    assert document["templateId"] == "adhoc-model"
    assert document["templateTitle"] == "adhoc-model"
    assert document["templateVersion"] == "1.2.0"
    assert document["generatedAtUtc"] == "2026-01-01T00:00:00Z"
    assert document["parameters"] == {}
    assert "replacedNodes" not in document


def test_metadata_mode_forced_by_caller_and_model_mode_lowercased() -> None:
    assert metadata(forced_mode="telemetry", provenance={"modelId": "x", "mode": "simulation"})["mode"] == "telemetry"
    assert metadata(example_model(mode="TELEMETRY"))["mode"] == "telemetry"


def test_metadata_non_string_scalars_keep_their_source_text() -> None:
    model = example_model(metadata={"id": 7, "version": 1.1, "title": True})
    spec = "schemaVersion: 1\nmetadata:\n  id: 007\n  title: true\n  version: 1.10\n"
    document = metadata(model, spec)
    assert (document["templateId"], document["templateTitle"], document["templateVersion"]) == (
        "007",
        "true",
        "1.10",
    )


def test_metadata_blank_strings_do_not_count() -> None:
    document = metadata(example_model(metadata={"id": "  "}), provenance={"modelId": "x", "templateId": "t"})
    assert document["templateId"] == "t"


def test_provenance_document_order_nulls_and_mode() -> None:
    document = provenance_document(
        {
            "modelId": "m",
            "extra": "dropped",
            "links": {"docs": 5},
            "mode": "telemetry",
            "parameters": {"a": [1, 2]},
        },
        received_utc="2025-01-01T00:00:00.000000Z",
    )
    assert list(document) == [
        "source",
        "modelId",
        "templateId",
        "templateVersion",
        "templateTitle",
        "generatedAt",
        "receivedAt",
        "generator",
        "parameters",
        "links",
        "mode",
    ]
    assert document["links"] == {"docs": "5"}
    assert document["parameters"] == {"a": [1, 2]}
    assert document["source"] is None


def test_manifest_provenance_block() -> None:
    document = manifest_document(
        scenario_hash="sha256:s",
        seed=5,
        series=[],
        created_utc="t",
        model_hash="sha256:m",
        provenance={"modelId": "m"},
    )
    assert document["provenance"] == {"hasProvenance": True, "modelId": "m", "templateId": None}
    assert document["seriesHashes"] == {}


def test_scalar_text_and_plain() -> None:
    assert [scalar_text(v) for v in (None, "s", True, 3, 2.0, 0.1, date(2025, 1, 2))] == [
        None,
        "s",
        "true",
        "3",
        "2",
        "0.1",
        "2025-01-02",
    ]
    assert plain({"a": (1, np.float64(2.5)), 3: {"b": np.arange(2)}, "d": date(2025, 1, 2)}) == {
        "a": [1, 2.5],
        "3": {"b": [0, 1]},
        "d": "2025-01-02",
    }
