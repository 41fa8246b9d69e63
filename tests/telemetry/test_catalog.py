"""Capture keys, captureDirectory resolution (with a table of hostile inputs) and the capture listing."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.telemetry.factories import simulate

from flowtime.artifacts import json_bytes
from flowtime.errors import FlowTimeError
from flowtime.telemetry.catalog import is_valid_capture_key, list_captures, resolve_capture_directory
from flowtime.telemetry.generation import generate_capture


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    runs, telemetry = tmp_path / "runs", tmp_path / "telemetry"
    runs.mkdir()
    (telemetry / "web" / "2026-03").mkdir(parents=True)
    return runs, telemetry


def resolve(roots: tuple[Path, Path], value: str, **options: object) -> Path:
    return resolve_capture_directory(value, runs_root=roots[0], telemetry_root=roots[1], **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("key", "valid"),
    [
        ("web", True),
        ("web/2026-03", True),
        ("a/b/c/d/e/f/g/h", True),
        ("a/b/c/d/e/f/g/h/i", False),
        ("", False),
        ("..", False),
        ("web/../x", False),
        ("./web", False),
        ("web//x", False),
        ("/web", False),
        ("web/", False),
        ("-web", False),
        ("web key", False),
        ("x" * 64, True),
        ("x" * 65, False),
        ("web\\x", False),
        ("wéb", False),
    ],
)
def test_capture_keys(key: str, valid: bool) -> None:
    assert is_valid_capture_key(key) is valid


def test_resolution_forms(roots: tuple[Path, Path]) -> None:
    runs, telemetry = roots
    assert resolve(roots, "web/2026-03") == telemetry / "web" / "2026-03"
    (runs / "run_1" / "model" / "telemetry").mkdir(parents=True)
    assert resolve(roots, "run:run_1") == runs / "run_1" / "model" / "telemetry"
    assert resolve(roots, str(telemetry / "web")) == telemetry / "web"


HOSTILE = [
    ("run:../x", "invalid_run_id"),
    ("run:", "invalid_run_id"),
    ("../telemetry/web", "invalid_capture_key"),
    ("web/../../runs", "invalid_capture_key"),
    ("web/./2026-03", "invalid_capture_key"),
    ("/etc", "path_outside_roots"),
    ("/", "path_outside_roots"),
    ("{tmp}/telemetry/../outside", "path_outside_roots"),
    ("{tmp}/telemetry2", "path_outside_roots"),
    ("{tmp}/telemetry/escape", "path_outside_roots"),
    ("unknown-key", "capture_not_found"),
    ("run:run_missing", "capture_not_found"),
]


@pytest.mark.parametrize(("value", "code"), HOSTILE)
def test_hostile_capture_directories_are_rejected(
    roots: tuple[Path, Path], tmp_path: Path, value: str, code: str
) -> None:
    (tmp_path / "outside").mkdir(exist_ok=True)
    (tmp_path / "telemetry2").mkdir(exist_ok=True)
    if not (roots[1] / "escape").exists():
        os.symlink(tmp_path / "outside", roots[1] / "escape")
    text = value.replace("{tmp}", str(tmp_path))
    with pytest.raises(FlowTimeError) as info:
        resolve(roots, text)
    assert info.value.code == code
    assert str(tmp_path) not in info.value.message or text in info.value.message


def test_extra_allowed_root(roots: tuple[Path, Path], tmp_path: Path) -> None:
    extra = tmp_path / "extra" / "cap"
    extra.mkdir(parents=True)
    assert resolve(roots, str(extra), allowed_roots=[tmp_path / "extra"]) == extra


def test_listing_covers_keys_and_run_scoped_captures_newest_first(roots: tuple[Path, Path]) -> None:
    runs, telemetry = roots
    first = simulate(runs, "http-service")
    second = simulate(runs, "order-system")
    generate_capture(first.name, runs_root=runs, telemetry_root=telemetry, now=datetime(2026, 3, 2, 8, tzinfo=UTC))
    generate_capture(
        second.name,
        runs_root=runs,
        telemetry_root=telemetry,
        capture_key="orders/march",
        now=datetime(2026, 3, 3, 8, tzinfo=UTC),
    )
    manual = telemetry / "web" / "2026-03"
    (manual / "manifest.json").write_bytes(
        json_bytes(
            {
                "schemaVersion": 1,
                "grid": {"bins": 4, "binSize": 15, "binUnit": "minutes"},
                "files": [],
                "warnings": [{"code": "x", "message": "m"}],
                "provenance": {
                    "runId": "import_abcd1234",
                    "scenarioHash": "s",
                    "capturedAtUtc": "2026-03-01T00:00:00Z",
                },
            }
        )
    )
    (telemetry / ".hidden" / "x").mkdir(parents=True)
    (telemetry / ".hidden" / "x" / "manifest.json").write_text("{}")
    (telemetry / "broken").mkdir()
    (telemetry / "broken" / "manifest.json").write_text("{not json")
    listed = [c.to_json() for c in list_captures(runs_root=runs, telemetry_root=telemetry)]
    assert [c["captureDirectory"] for c in listed] == ["orders/march", f"run:{first.name}", "web/2026-03"]
    assert listed[0] == {
        "captureDirectory": "orders/march",
        "captureKey": "orders/march",
        "sourceRunId": second.name,
        "templateId": "order-system",
        "templateVersion": "1.0.0",
        "generatedAtUtc": "2026-03-03T08:00:00.000000Z",
        "fileCount": 8,
        "warningCount": 0,
        "grid": {"bins": 12, "binSize": 5, "binUnit": "minutes"},
    }
    assert listed[1]["captureKey"] is None and listed[1]["templateId"] == "http-service"
    assert listed[2]["templateId"] is None and listed[2]["warningCount"] == 1
    assert all(str(runs) not in json.dumps(c) and str(telemetry) not in json.dumps(c) for c in listed)
    only = list_captures(runs_root=runs, telemetry_root=telemetry, template_id="http-service")
    assert [c.capture_directory for c in only] == [f"run:{first.name}"]
    by_run = list_captures(runs_root=runs, telemetry_root=telemetry, source_run_id="import_abcd1234")
    assert [c.capture_directory for c in by_run] == ["web/2026-03"]


def test_listing_of_missing_roots_is_empty(tmp_path: Path) -> None:
    assert list_captures(runs_root=tmp_path / "a", telemetry_root=tmp_path / "b") == []


def test_telemetry_root_inside_runs_root_is_not_a_run(tmp_path: Path) -> None:
    telemetry = tmp_path / "telemetry"
    (telemetry / "model" / "telemetry").mkdir(parents=True)
    (telemetry / "model" / "telemetry" / "manifest.json").write_text(json.dumps({"files": []}))
    listed = list_captures(runs_root=tmp_path, telemetry_root=telemetry)
    assert [c.capture_directory for c in listed] == ["model/telemetry"]
