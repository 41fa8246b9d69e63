"""The run telemetry availability summary of telemetry.md §5, case by case."""

from __future__ import annotations

import json
from pathlib import Path

from flowtime.telemetry.availability import telemetry_summary


def telemetry_dir(run: Path) -> Path:
    path = run / "model" / "telemetry"
    path.mkdir(parents=True)
    return path


def test_simulation_run_before_capture(tmp_path: Path) -> None:
    directory = telemetry_dir(tmp_path)
    manifest = {"files": [], "warnings": [], "provenance": {"runId": "r", "capturedAtUtc": "t"}}
    (directory / "telemetry-manifest.json").write_text(json.dumps(manifest))
    assert telemetry_summary(tmp_path).to_json() == {
        "available": False,
        "generatedAtUtc": None,
        "warningCount": 0,
        "sourceRunId": None,
    }


def test_manifest_with_files(tmp_path: Path) -> None:
    directory = telemetry_dir(tmp_path)
    manifest = {
        "files": [{"path": "a.csv"}],
        "warnings": [{"code": "x"}, {"code": "y"}],
        "provenance": {"runId": " ", "capturedAtUtc": "2026-03-02T08:31:50.020116Z"},
    }
    (directory / "telemetry-manifest.json").write_text(json.dumps(manifest))
    assert telemetry_summary(tmp_path).to_json() == {
        "available": True,
        "generatedAtUtc": "2026-03-02T08:31:50.020116Z",
        "warningCount": 2,
        "sourceRunId": None,
    }


def test_csvs_without_manifest_files_use_autocapture(tmp_path: Path) -> None:
    directory = telemetry_dir(tmp_path)
    (directory / "telemetry-manifest.json").write_text("{broken")
    (directory / "a.csv").write_text("bin_index,value\n")
    (directory / "autocapture.json").write_text(json.dumps({"generatedAtUtc": "g", "sourceRunId": "s"}))
    assert telemetry_summary(tmp_path).to_json() == {
        "available": True,
        "generatedAtUtc": "g",
        "warningCount": 0,
        "sourceRunId": "s",
    }
    (directory / "autocapture.json").unlink()
    assert telemetry_summary(tmp_path).to_json()["generatedAtUtc"] is None


def test_no_telemetry_directory(tmp_path: Path) -> None:
    assert telemetry_summary(tmp_path).available is False
