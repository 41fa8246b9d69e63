"""Capture: reading a run, per-series processing, files and manifest written, dry run, coded failures."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.events import EventLog
from tests.telemetry.factories import MODEL_HASH, SCENARIO, csv_text, hand_run

from flowtime.artifacts import sha256_bytes
from flowtime.errors import FlowTimeError
from flowtime.telemetry.capture import capture, plan_capture, read_capture_source
from flowtime.telemetry.manifest import read_manifest, schema_errors

NOW = datetime(2026, 3, 2, 9, 12, 44, 318204, tzinfo=UTC)


def run_capture(run: Path, out: Path, **options: object):  # type: ignore[no-untyped-def]
    return capture(run, out, telemetry_root=out.parent / "tel", roots=[out.parent], now=NOW, **options)  # type: ignore[arg-type]


def files_in(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_capture_writes_csvs_and_a_valid_manifest(tmp_path: Path) -> None:
    run = hand_run(tmp_path, {"calls": csv_text("30", "44", "52", "41"), "handled": csv_text("30", "40", "40", "40")})
    result = run_capture(run, tmp_path / "out")
    out = files_in(tmp_path / "out")
    assert list(out) == ["HttpService_arrivals.csv", "HttpService_served.csv", "manifest.json"]
    assert out["HttpService_arrivals.csv"] == b"bin_index,value\n0,30\n1,44\n2,52\n3,41\n"
    manifest = json.loads(out["manifest.json"])
    assert schema_errors(manifest) == []
    assert manifest == {
        "schemaVersion": 1,
        "window": {"startTimeUtc": "2026-03-02T08:00:00Z", "durationMinutes": 60},
        "grid": {"bins": 4, "binSize": 15, "binUnit": "minutes"},
        "files": [
            {
                "nodeId": "HttpService",
                "metric": "Arrivals",
                "path": "HttpService_arrivals.csv",
                "hash": sha256_bytes(out["HttpService_arrivals.csv"]),
                "points": 4,
            },
            {
                "nodeId": "HttpService",
                "metric": "Served",
                "path": "HttpService_served.csv",
                "hash": sha256_bytes(out["HttpService_served.csv"]),
                "points": 4,
            },
        ],
        "warnings": [],
        "provenance": {
            "runId": "run_hand",
            "scenarioHash": SCENARIO,
            "modelHash": MODEL_HASH,
            "capturedAtUtc": "2026-03-02T09:12:44.318204Z",
        },
    }
    assert out["manifest.json"].endswith(b"}\n") and b"\r" not in out["manifest.json"]
    assert result.manifest is not None and result.manifest.to_json() == manifest
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_spec_gap_example_and_its_hash(tmp_path: Path) -> None:
    run = hand_run(tmp_path, {"calls": "bin_index,value\n0,30\n1,44\n3,41\n", "handled": csv_text("1", "1", "1", "1")})
    result = run_capture(run, tmp_path / "out", gap_mode="warn")
    data = (tmp_path / "out" / "HttpService_arrivals.csv").read_bytes()
    assert data == b"bin_index,value\n0,30\n1,44\n2,\n3,41\n"
    assert result.manifest is not None
    assert result.manifest.files[0].hash == "sha256:f9e9ab97bc9bddb1bac0cb4f4daa2d135c2614ea4949fa236d556452bb0f15cf"
    assert [w.to_json() for w in result.manifest.warnings] == [
        {
            "code": "length_mismatch",
            "message": "Series 'calls@CALLS@DEFAULT.csv' contained 3 points but expected 4.",
            "nodeId": "HttpService",
        },
        {
            "code": "data_gap",
            "message": "Missing value at bin 2 for HttpService:Arrivals.",
            "nodeId": "HttpService",
            "bins": [2],
        },
    ]


@pytest.mark.parametrize(
    ("gap_mode", "fill_nan", "arrivals", "warnings"),
    [
        (
            "ignore",
            False,
            ["0,", "1,NaN", "2,Infinity", "3,5"],
            [("nan_detected", 1, "Detected"), ("nan_detected", 2, "Detected")],
        ),
        (
            "warn",
            False,
            ["0,", "1,NaN", "2,Infinity", "3,5"],
            [("data_gap", 0, "Missing value"), ("nan_detected", 1, "Detected"), ("nan_detected", 2, "Detected")],
        ),
        (
            "fill-zero",
            False,
            ["0,0", "1,NaN", "2,Infinity", "3,5"],
            [("data_gap", 0, "Missing value"), ("nan_detected", 1, "Detected"), ("nan_detected", 2, "Detected")],
        ),
        (
            "fill-zero",
            True,
            ["0,0", "1,0", "2,0", "3,5"],
            [("data_gap", 0, "Missing value"), ("nan_fill", 1, "Filled"), ("nan_fill", 2, "Filled")],
        ),
        ("ignore", True, ["0,", "1,0", "2,0", "3,5"], [("nan_fill", 1, "Filled"), ("nan_fill", 2, "Filled")]),
    ],
)
def test_every_gap_and_nan_mode(
    tmp_path: Path, gap_mode: str, fill_nan: bool, arrivals: list[str], warnings: list[tuple[str, int, str]]
) -> None:
    # Four rows for four points (no length_mismatch): bin 0 missing, 1 NaN, 2 +∞, 3 finite; index 7 dropped.
    source = "bin_index,value\n3,5\n1,nan\n2,+Infinity\n7,99\n"
    run = hand_run(tmp_path, {"calls": source, "handled": csv_text("1", "1", "1", "1")})
    result = run_capture(run, tmp_path / "out", gap_mode=gap_mode, fill_nan=fill_nan)
    lines = (tmp_path / "out" / "HttpService_arrivals.csv").read_text().splitlines()
    assert lines == ["bin_index,value", *arrivals]
    suffix = {"Missing value": "", "Detected": " NaN/∞", "Filled": " NaN/∞"}
    assert [w.to_json() for w in result.plan.warnings] == [
        {
            "code": code,
            "message": f"{verb}{suffix[verb]} at bin {b} for HttpService:Arrivals.",
            "nodeId": "HttpService",
            "bins": [b],
        }
        for code, b, verb in warnings
    ]
    assert result.manifest is not None and result.manifest.warnings == result.plan.warnings


def test_length_mismatch_counts_rows_against_points(tmp_path: Path) -> None:
    run = hand_run(
        tmp_path,
        {"calls": "bin_index,value\n3,5\n1,1\n2,2\n7,99\n0,0\n", "handled": csv_text("1", "1")},
        points={"handled": 2},
    )
    plan = plan_capture(read_capture_source(run))
    assert [(w.code, w.message) for w in plan.warnings] == [
        ("length_mismatch", "Series 'calls@CALLS@DEFAULT.csv' contained 5 points but expected 4."),
    ]
    assert plan.files[0].data == b"bin_index,value\n0,0\n1,1\n2,2\n3,5\n"
    assert plan.files[1].data == b"bin_index,value\n0,1\n1,1\n"


def test_dry_run_computes_and_logs_everything_and_writes_nothing(tmp_path: Path, events: EventLog) -> None:
    run = hand_run(tmp_path, {"calls": "bin_index,value\n0,1\n", "handled": csv_text("1", "1", "1", "1")})
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    result = run_capture(run, tmp_path / "out", dry_run=True, gap_mode="warn")
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before
    assert result.manifest is None
    plan = result.plan.to_json("out")
    assert plan["runId"] == "run_hand" and plan["outputDirectory"] == "out"
    assert plan["files"] == [
        {
            "nodeId": "HttpService",
            "metric": "Arrivals",
            "sourceSeriesId": "calls@CALLS@DEFAULT",
            "targetFileName": "HttpService_arrivals.csv",
        },
        {
            "nodeId": "HttpService",
            "metric": "Served",
            "sourceSeriesId": "handled@HANDLED@DEFAULT",
            "targetFileName": "HttpService_served.csv",
        },
    ]
    assert [w["code"] for w in plan["warnings"]] == ["length_mismatch", "data_gap", "data_gap", "data_gap"]
    assert events.ids() == [2001, 2002, 2002, 2004, 2004, 2004, 2004, 2003]
    start = events.of(2001)[0]
    assert (start["event"], start["runId"], start["dryRun"], start["gapMode"], start["fillNaN"]) == (
        "TelemetryCaptureStart",
        "run_hand",
        True,
        "warn",
        False,
    )
    assert events.of(2002)[0]["targetFile"] == "HttpService_arrivals.csv"
    warning = events.of(2004)[1]
    assert warning["level"] == "warning" and warning["bins"] == [1] and warning["metric"] == "Arrivals"
    assert warning["message"] == (
        "Capture warning data_gap for HttpService:Arrivals - Missing value at bin 1 for HttpService:Arrivals."
    )
    done = events.of(2003)[0]
    assert (done["fileCount"], done["warningCount"], done["dryRun"]) == (2, 4, True)
    assert done["message"].startswith("Telemetry capture dry-run complete")


def test_existing_capture_needs_overwrite_which_replaces_only_regular_files(tmp_path: Path) -> None:
    run = hand_run(tmp_path, {"calls": csv_text("1", "2", "3", "4"), "handled": csv_text("1", "1", "1", "1")})
    out = tmp_path / "out"
    run_capture(run, out)
    (out / "stale.csv").write_text("old")
    (out / ".keep").write_text("dot")
    (out / "sub").mkdir()
    with pytest.raises(FlowTimeError) as info:
        run_capture(run, out, output_label="out")
    assert info.value.code == "capture_exists"
    assert info.value.message == "Telemetry bundle already exists in 'out'. Use --overwrite to replace it."
    run_capture(run, out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == [
        ".keep",
        "HttpService_arrivals.csv",
        "HttpService_served.csv",
        "manifest.json",
        "sub",
    ]


def test_capture_without_bindings_writes_an_empty_manifest(tmp_path: Path) -> None:
    run = hand_run(tmp_path, {"x": csv_text("1", "1", "1", "1")}, model="schemaVersion: 1\ngrid: {bins: 4}\n")
    result = run_capture(run, tmp_path / "out")
    assert result.manifest is not None and result.manifest.files == ()
    assert read_manifest(tmp_path / "out", label="out").files == ()
    assert "startTimeUtc" not in result.manifest.to_json()["window"]


# ---------------------------------------------------------------------------------------- failures


def test_missing_run_directory(tmp_path: Path) -> None:
    with pytest.raises(FlowTimeError) as info:
        run_capture(tmp_path / "nope", tmp_path / "out", run_label="nope")
    assert info.value.code == "run_not_found"
    assert info.value.message == "Run directory 'nope' was not found."


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda run: (run / "run.json").unlink(), "run.json is missing or invalid."),
        (lambda run: (run / "run.json").write_text('{"runId": "x"}'), "run.json is missing or invalid."),
        (lambda run: (run / "run.json").write_text("[1]"), "run.json is missing or invalid."),
        (
            lambda run: (run / "series" / "index.json").write_text("{"),
            "series/index.json is missing or invalid.",
        ),
        (
            lambda run: (run / "series" / "index.json").write_text('{"grid": {"bins": 4}, "series": []}'),
            "series/index.json is missing or invalid.",
        ),
        (
            lambda run: (run / "series" / "index.json").write_text(
                '{"grid": {"bins": 4, "binSize": 15, "binUnit": "minutes"}}'
            ),
            "series/index.json is missing or invalid.",
        ),
        (
            lambda run: (run / "spec.yaml").write_text("- a list\n"),
            "Canonical spec.yaml not found or unreadable.",
        ),
        (
            lambda run: (run / "spec.yaml").write_text("a: [\n"),
            "Canonical spec.yaml not found or unreadable.",
        ),
        (
            lambda run: ((run / "spec.yaml").unlink(), (run / "model" / "model.yaml").unlink()),
            "Canonical spec.yaml not found or unreadable.",
        ),
        (
            lambda run: (run / "series" / "calls@CALLS@DEFAULT.csv").unlink(),
            "Series 'calls@CALLS@DEFAULT.csv' is missing or invalid: 'calls@CALLS@DEFAULT.csv' was not found.",
        ),
        (
            lambda run: (run / "series" / "calls@CALLS@DEFAULT.csv").write_text("time,value\n0,1\n"),
            "Series 'calls@CALLS@DEFAULT.csv' is missing or invalid: "
            "Invalid CSV 'calls@CALLS@DEFAULT.csv' at line 1: "
            "header must be 'bin_index,value' or 't,value'.",
        ),
        (
            lambda run: (run / "series" / "calls@CALLS@DEFAULT.csv").write_text("t,value\n0,1\n0,2\n"),
            "Series 'calls@CALLS@DEFAULT.csv' is missing or invalid: "
            "Invalid CSV 'calls@CALLS@DEFAULT.csv' at line 3: "
            "duplicate bin index 0.",
        ),
        (
            lambda run: (run / "series" / "calls@CALLS@DEFAULT.csv").write_text("bin_index,value\n0,1;2\n"),
            "Series 'calls@CALLS@DEFAULT.csv' is missing or invalid: "
            "Invalid CSV 'calls@CALLS@DEFAULT.csv' at line 2: "
            "invalid value '1;2'.",
        ),
    ],
)
def test_unreadable_sources_are_capture_source_invalid_and_write_nothing(tmp_path: Path, damage, message: str) -> None:  # type: ignore[no-untyped-def]
    run = hand_run(tmp_path, {"calls": csv_text("1", "2", "3", "4"), "handled": csv_text("1", "1", "1", "1")})
    damage(run)
    with pytest.raises(FlowTimeError) as info:
        run_capture(run, tmp_path / "out")
    assert info.value.code == "capture_source_invalid"
    assert info.value.message == message
    assert not (tmp_path / "out").exists()


def test_spec_yaml_falls_back_to_model_yaml(tmp_path: Path) -> None:
    run = hand_run(tmp_path, {"calls": csv_text("1", "2", "3", "4"), "handled": csv_text("1", "1", "1", "1")})
    (run / "spec.yaml").unlink()
    assert len(plan_capture(read_capture_source(run)).files) == 2


HOSTILE_SOURCE_PATHS = [
    "../outside.csv",
    "series/../../outside.csv",
    "/etc/passwd",
    "series/link.csv",
]


@pytest.mark.parametrize("path", HOSTILE_SOURCE_PATHS)
def test_source_paths_that_leave_the_run_are_rejected(tmp_path: Path, path: str) -> None:
    (tmp_path / "outside.csv").write_text(csv_text("6", "6", "6", "6"))
    run = hand_run(
        tmp_path / "runs",
        {"calls": csv_text("1", "2", "3", "4"), "handled": csv_text("1", "1", "1", "1")},
        paths={"calls": path},
    )
    if path == "series/link.csv":
        (run / path).unlink()
        os.symlink(tmp_path / "outside.csv", run / "series" / "link.csv")
    with pytest.raises(FlowTimeError) as info:
        run_capture(run, tmp_path / "out")
    assert info.value.code == "capture_source_invalid"
    name = Path(path).name
    assert info.value.message == f"Series '{name}' is missing or invalid: its path leaves the run directory."
    assert str(tmp_path) not in info.value.message


def test_symlink_inside_the_run_is_accepted(tmp_path: Path) -> None:
    run = hand_run(
        tmp_path,
        {"calls": csv_text("1", "2", "3", "4"), "handled": csv_text("1", "1", "1", "1")},
        paths={"calls": "series/alias.csv"},
    )
    (run / "series" / "alias.csv").unlink()
    os.symlink(run / "series" / "handled@HANDLED@DEFAULT.csv", run / "series" / "alias.csv")
    assert plan_capture(read_capture_source(run)).files[0].data == b"bin_index,value\n0,1\n1,1\n2,1\n3,1\n"


@pytest.mark.parametrize(
    "run_json",
    [
        {"runId": "r", "scenarioHash": "abc"},
        {"runId": "r", "scenarioHash": SCENARIO, "modelHash": "sha256:12"},
        {"runId": " ", "scenarioHash": SCENARIO},
        {"runId": "r", "scenarioHash": SCENARIO, "modelHash": 7},
    ],
)
def test_hashes_a_manifest_cannot_carry_make_run_json_invalid(tmp_path: Path, run_json: dict[str, object]) -> None:
    run = hand_run(tmp_path, {"calls": csv_text("1", "2", "3", "4"), "handled": csv_text("1", "1", "1", "1")})
    (run / "run.json").write_text(json.dumps(run_json))
    with pytest.raises(FlowTimeError) as info:
        run_capture(run, tmp_path / "out", dry_run=True)
    assert (info.value.code, info.value.message) == ("capture_source_invalid", "run.json is missing or invalid.")


def test_upper_case_hashes_are_written_lower_case(tmp_path: Path) -> None:
    run = hand_run(tmp_path, {"calls": csv_text("1", "2", "3", "4"), "handled": csv_text("1", "1", "1", "1")})
    (run / "run.json").write_text(json.dumps({"runId": "r", "scenarioHash": SCENARIO.upper().replace("SHA", "sha")}))
    result = run_capture(run, tmp_path / "out")
    assert result.manifest is not None
    assert result.manifest.provenance.to_json() == {
        "runId": "r",
        "scenarioHash": SCENARIO,
        "capturedAtUtc": "2026-03-02T09:12:44.318204Z",
    }


def test_existing_capture_is_refused_before_any_series_is_read(tmp_path: Path, events: EventLog) -> None:
    run = hand_run(tmp_path, {"calls": csv_text("1", "2", "3", "4"), "handled": csv_text("1", "1", "1", "1")})
    out = tmp_path / "out"
    run_capture(run, out)
    (run / "series" / "calls@CALLS@DEFAULT.csv").write_text("not a csv")
    events.records.clear()
    with pytest.raises(FlowTimeError) as info:
        run_capture(run, out, output_label="out")
    assert info.value.code == "capture_exists"
    assert events.ids() == []


def test_an_unwritable_output_is_write_failed_and_leaves_nothing(tmp_path: Path) -> None:
    run = hand_run(tmp_path, {"calls": csv_text("1", "2", "3", "4"), "handled": csv_text("1", "1", "1", "1")})
    (tmp_path / "plain-file").write_text("x")
    blocked = tmp_path / "plain-file" / "out"
    with pytest.raises(FlowTimeError) as info:
        capture(run, blocked, telemetry_root=tmp_path / "tel", roots=[], now=NOW)
    assert info.value.code == "write_failed"
    assert info.value.message == (
        f"Capture could not be written: cannot create a staging directory in '{blocked.parent}' (File exists); "
        "the output must lie in a writable directory."
    )
    with pytest.raises(FlowTimeError) as locked:
        capture(run, tmp_path / "out", telemetry_root=tmp_path / "plain-file", roots=[tmp_path], now=NOW)
    assert locked.value.code == "write_failed"
    assert locked.value.message.startswith("Cannot create the capture lock in the telemetry root: Not a directory.")
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_an_output_that_is_a_file_is_write_failed_naming_it(tmp_path: Path) -> None:
    run = hand_run(tmp_path, {"calls": csv_text("1", "2", "3", "4"), "handled": csv_text("1", "1", "1", "1")})
    (tmp_path / "plain-file").write_text("x")
    with pytest.raises(FlowTimeError) as info:
        run_capture(run, tmp_path / "plain-file")
    assert info.value.code == "write_failed"
    assert info.value.message == (
        f"Capture could not be written to '{tmp_path / 'plain-file'}': File exists; the output must be a writable "
        "directory."
    )
    assert (tmp_path / "plain-file").read_text() == "x"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_a_run_directory_is_never_a_capture_target(tmp_path: Path) -> None:
    run = hand_run(tmp_path, {"calls": csv_text("1", "2", "3", "4"), "handled": csv_text("1", "1", "1", "1")})
    before = sorted(p.relative_to(run) for p in run.rglob("*"))
    for overwrite in (False, True):
        with pytest.raises(FlowTimeError) as info:
            run_capture(run, run, overwrite=overwrite, output_label="run_hand")
        assert (info.value.code, info.value.message) == (
            "invalid_output",
            "Output directory 'run_hand' is a run directory; write the bundle to a directory of its own.",
        )
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == before
