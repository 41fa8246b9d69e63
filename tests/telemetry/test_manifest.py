"""manifest.json: key order, omitted nulls, the shipped schema, validated reading with coded errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flowtime.artifacts import dumps_json, format_grid_time, model_start_text, sha256_bytes
from flowtime.errors import Unprocessable
from flowtime.telemetry.manifest import (
    CaptureGrid,
    CaptureProvenance,
    CaptureWarning,
    Manifest,
    ManifestFile,
    manifest_schema,
    read_manifest,
    schema_errors,
)

SPEC_CSV = b"bin_index,value\n0,30\n1,44\n2,\n3,41\n"
SPEC_HASH = "sha256:f9e9ab97bc9bddb1bac0cb4f4daa2d135c2614ea4949fa236d556452bb0f15cf"
SCENARIO = "sha256:" + "0" * 64


def example() -> Manifest:
    return Manifest(
        grid=CaptureGrid(4, 15, "minutes"),
        provenance=CaptureProvenance("run_deterministic_5c1e0b7a", SCENARIO, "2026-03-02T09:12:44.318204Z"),
        files=(ManifestFile("HttpService", "Arrivals", "HttpService_arrivals.csv", SPEC_HASH, 4),),
        warnings=(CaptureWarning("data_gap", "Missing value at bin 2 for HttpService:Arrivals.", "HttpService", (2,)),),
        start_time_utc="2026-03-02T08:00:00Z",
    )


def test_spec_example_file_hash() -> None:
    assert sha256_bytes(SPEC_CSV) == SPEC_HASH


def test_json_keys_in_spec_order_and_model_hash_omitted() -> None:
    doc = example().to_json()
    assert list(doc) == ["schemaVersion", "window", "grid", "files", "warnings", "provenance"]
    assert doc["window"] == {"startTimeUtc": "2026-03-02T08:00:00Z", "durationMinutes": 60}
    assert doc["provenance"] == {
        "runId": "run_deterministic_5c1e0b7a",
        "scenarioHash": SCENARIO,
        "capturedAtUtc": "2026-03-02T09:12:44.318204Z",
    }
    assert doc["warnings"] == [
        {
            "code": "data_gap",
            "message": "Missing value at bin 2 for HttpService:Arrivals.",
            "nodeId": "HttpService",
            "bins": [2],
        }
    ]
    assert schema_errors(doc) == []


def test_window_without_start_keeps_duration_and_weeks_count() -> None:
    manifest = Manifest(grid=CaptureGrid(3, 2, "weeks"), provenance=example().provenance)
    assert manifest.to_json()["window"] == {"durationMinutes": 3 * 2 * 10080}


def test_schema_is_closed_and_checks_patterns() -> None:
    schema = manifest_schema()
    assert schema["additionalProperties"] is False
    doc = example().to_json()
    doc["extra"] = 1
    doc["files"][0]["hash"] = "sha256:ABC"
    doc["files"][0]["metric"] = "Latency"
    doc["grid"]["bins"] = 0
    doc["provenance"]["capturedAtUtc"] = "yesterday"
    errors = schema_errors(doc)
    assert any("$.files[0].hash" in e for e in errors)
    assert any("$.files[0].metric" in e for e in errors)
    assert any("$.grid.bins" in e for e in errors)
    assert any("$.provenance.capturedAtUtc" in e for e in errors)
    assert any("extra" in e for e in errors)


def test_read_manifest_round_trips(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(dumps_json(example().to_json()), encoding="utf-8")
    assert read_manifest(tmp_path, label="web/2026-03") == example().__class__.from_json(example().to_json())
    assert read_manifest(tmp_path, label="x").files[0].hash == SPEC_HASH


def test_read_manifest_missing_and_invalid_are_coded(tmp_path: Path) -> None:
    with pytest.raises(Unprocessable) as missing:
        read_manifest(tmp_path, label="web/2026-03")
    assert missing.value.code == "capture_manifest_missing"
    assert missing.value.message == (
        "Capture 'web/2026-03' has no manifest.json. Capture, generate or import the bundle first."
    )
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(Unprocessable) as broken:
        read_manifest(tmp_path, label="k")
    assert broken.value.code == "capture_manifest_invalid"
    assert broken.value.message.startswith("Capture 'k' has an invalid manifest.json: not valid JSON at line 1")
    (tmp_path / "manifest.json").write_text(json.dumps({"schemaVersion": 2}), encoding="utf-8")
    with pytest.raises(Unprocessable) as wrong:
        read_manifest(tmp_path, label="k")
    assert wrong.value.code == "capture_manifest_invalid"
    assert str(tmp_path) not in wrong.value.message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"grid": {"start": "2026-03-02T09:00:00+01:00"}}, "2026-03-02T08:00:00Z"),
        ({"grid": {"startTimeUtc": "2026-03-02T08:00:00.250Z"}}, "2026-03-02T08:00:00.25Z"),
        ({"grid": {}, "window": {"start": "2026-03-02T08:00:00"}}, "2026-03-02T08:00:00Z"),
        ({"grid": {"start": "soon"}, "window": {"start": "2026-01-01T00:00:00Z"}}, "2026-01-01T00:00:00Z"),
        ({"grid": {"bins": 4}}, None),
    ],
)
def test_model_start_text(raw: dict[str, object], expected: str | None) -> None:
    assert model_start_text(raw) == expected


def test_format_grid_time_drops_zero_fraction() -> None:
    assert format_grid_time(datetime(2026, 3, 2, 8, tzinfo=UTC)) == "2026-03-02T08:00:00Z"
