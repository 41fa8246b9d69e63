"""`flowtime telemetry capture | bundle | import`: outputs, JSON bodies and the local-tool exit codes."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.telemetry.factories import SMALL_MODEL, csv_text, hand_run, simulate, template_model
from typer.testing import CliRunner

from flowtime.cli.context import set_settings
from flowtime.cli.telemetry import app
from flowtime.runs import Settings
from flowtime.telemetry import read_manifest, schema_errors


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    resolved = Settings.resolve(data_dir=tmp_path / "data", env={})
    set_settings(resolved)
    return resolved


@pytest.fixture
def cli(settings: Settings) -> Any:
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(app, list(args))

    return invoke


@pytest.fixture
def run_dir(settings: Settings) -> Path:
    return hand_run(
        settings.runs_root,
        {"calls": "bin_index,value\n0,30\n1,44\n3,41\n", "handled": csv_text("30", "40", "40", "NaN")},
    )


# --------------------------------------------------------------------------------------------- capture


def test_capture_by_run_id_prints_files_and_warnings(cli: Any, settings: Settings, run_dir: Path) -> None:
    result = cli("capture", "--run-id", "run_hand", "--gap-mode", "warn")
    assert result.exit_code == 0, result.output
    target = settings.telemetry_root / "run_hand"
    assert result.stdout.splitlines() == [
        "Run ID: run_hand",
        f"Output Directory: {target}",
        "Files (2):",
        "  - HttpService_arrivals.csv (HttpService:Arrivals, source=calls@CALLS@DEFAULT)",
        "  - HttpService_served.csv (HttpService:Served, source=handled@HANDLED@DEFAULT)",
        "Warnings (3):",
        "  - [length_mismatch] Series 'calls@CALLS@DEFAULT.csv' contained 3 points but expected 4.",
        "  - [data_gap] Missing value at bin 2 for HttpService:Arrivals.",
        "  - [nan_detected] Detected NaN/∞ at bin 3 for HttpService:Served.",
        f"Capture complete. Manifest written to {target / 'manifest.json'}",
    ]
    assert len(read_manifest(target, label="t").files) == 2


def test_capture_json_prints_the_written_manifest(cli: Any, tmp_path: Path, run_dir: Path) -> None:
    out = tmp_path / "cap"
    result = cli("capture", "--run-dir", str(run_dir), "--out", str(out), "--gap-fill-gaps", "--fill-nan", "--json")
    assert result.exit_code == 0
    body = json.loads(result.stdout)
    assert body == json.loads((out / "manifest.json").read_text())
    assert schema_errors(body) == []
    assert [w["code"] for w in body["warnings"]] == ["length_mismatch", "data_gap", "nan_fill"]
    assert (out / "HttpService_arrivals.csv").read_text().splitlines()[3] == "2,0"


def test_capture_dry_run_prints_the_plan_and_writes_nothing(cli: Any, tmp_path: Path, run_dir: Path) -> None:
    out = tmp_path / "cap"
    result = cli("capture", "--run-dir", str(run_dir), "--output", str(out), "--dry-run", "--gap-detect", "--json")
    assert result.exit_code == 0
    plan = json.loads(result.stdout)
    assert plan["runId"] == "run_hand" and plan["outputDirectory"] == str(out)
    assert [f["targetFileName"] for f in plan["files"]] == [
        "HttpService_arrivals.csv",
        "HttpService_served.csv",
    ]
    assert not out.exists()
    text = cli("capture", "--run-dir", str(run_dir), "--output", str(out), "--dry-run")
    assert text.stdout.splitlines()[-1] == "Dry-run complete. No files were written."
    assert not out.exists()


def test_capture_exit_codes(cli: Any, tmp_path: Path, run_dir: Path) -> None:
    out = str(tmp_path / "cap")
    assert cli("capture", "--run-dir", str(run_dir), "--out", out).exit_code == 0
    again = cli("capture", "--run-dir", str(run_dir), "--out", out)
    assert again.exit_code == 3
    assert f"Error [capture_exists]: Telemetry bundle already exists in '{out}'." in again.stderr
    assert cli("capture", "--run-dir", str(run_dir), "--out", out, "--overwrite").exit_code == 0
    missing = cli("capture", "--run-dir", "no/such/run", "--out", out)
    assert missing.exit_code == 1
    assert "Error [run_not_found]: Run directory 'no/such/run' was not found." in missing.stderr
    assert cli("capture", "--out", out).exit_code == 2
    assert cli("capture", "--run-id", "x", "--run-dir", str(run_dir)).exit_code == 2
    assert cli("capture", "--run-id", "../x").exit_code == 2
    assert cli("capture", "--run-dir", str(run_dir), "--gap-mode", "zero").exit_code == 2
    assert cli("capture", "--run-dir", str(run_dir), "--gap-mode", "ignore", "--gap-detect").exit_code == 2
    (run_dir / "run.json").write_text("{}")
    broken = cli("capture", "--run-dir", str(run_dir), "--out", str(tmp_path / "other"))
    assert broken.exit_code == 1 and "Error [capture_source_invalid]: run.json is missing or invalid." in broken.stderr
    assert cli("capture", "--bogus").exit_code == 2


def test_capture_error_in_json_mode_is_one_json_body(cli: Any, tmp_path: Path) -> None:
    result = cli("capture", "--run-dir", str(tmp_path / "none"), "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["code"] == "run_not_found"


# ---------------------------------------------------------------------------------------------- bundle


def test_bundle_from_a_path_a_key_and_a_run(cli: Any, settings: Settings, tmp_path: Path) -> None:
    source = simulate(settings.runs_root, "http-service")
    assert cli("capture", "--run-id", source.name).exit_code == 0
    text, _seed = template_model("http-service")
    model = tmp_path / "model.yaml"
    model.write_text(text)
    by_key = cli("bundle", "--capture-dir", source.name, "--model", str(model), "--run-id", "replay-1")
    assert by_key.exit_code == 0, by_key.output
    replay = settings.runs_root / "replay-1"
    assert by_key.stdout.splitlines() == [
        f"Bundle written to: {replay}",
        "Run ID: replay-1",
        "Telemetry files: 7",
    ]
    path = str(settings.telemetry_root / source.name)
    by_path = cli("bundle", "--capture-dir", path, "--model", str(model), "--deterministic-run-id", "--json")
    body = json.loads(by_path.stdout)
    assert body["runId"].startswith("run_deterministic_") and body["warnings"] == []
    assert list(body) == ["runDirectory", "runId", "telemetryManifest", "warnings"]
    assert body["telemetryManifest"] == json.loads((Path(path) / "manifest.json").read_text())
    exists = cli("bundle", "--capture-dir", source.name, "--model", str(model), "--run-id", "replay-1")
    assert exists.exit_code == 3 and "Error [run_exists]" in exists.stderr
    scoped = cli("bundle", "--capture-dir", f"run:{source.name}", "--model", str(model), "--run-id", "x")
    assert scoped.exit_code == 1 and "Error [capture_manifest_missing]" in scoped.stderr


def test_bundle_failures(cli: Any, tmp_path: Path, run_dir: Path) -> None:
    out = tmp_path / "cap"
    assert cli("capture", "--run-dir", str(run_dir), "--out", str(out)).exit_code == 0
    model = tmp_path / "m.yaml"
    model.write_text(SMALL_MODEL.replace("bins: 4", "bins: 5"))
    mismatch = cli("bundle", "--capture-dir", str(out), "--model", str(model))
    assert mismatch.exit_code == 1 and "Error [capture_grid_mismatch]" in mismatch.stderr
    unreadable = cli("bundle", "--capture-dir", str(out), "--model", str(tmp_path / "none.yaml"))
    assert unreadable.exit_code == 1 and "Error [model_unreadable]" in unreadable.stderr
    assert cli("bundle", "--capture-dir", "../escape", "--model", str(model)).exit_code == 1
    assert cli("bundle", "--model", str(model)).exit_code == 2


# ---------------------------------------------------------------------------------------------- import

ROWS = (
    "timestamp,nodeId,metric,value\n"
    "2026-03-02T08:20:00Z,HttpService,arrivals,44\n"
    "2026-03-02T08:01:00Z,HttpService,arrivals,30\n"
    "2026-03-02T08:50:00Z,HttpService,arrivals,41\n"
    "2026-03-02T08:05:00Z,HttpService,served,30\n"
    "2026-03-02T08:05:00Z,Ghost,served,1\n"
)


def test_import_with_grid_options_prints_files_and_warnings(cli: Any, settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "rows.csv").write_text(ROWS)
    args = [
        "import",
        "--input",
        str(tmp_path / "rows.csv"),
        "--start",
        "2026-03-02T08:00:00Z",
        "--bins",
        "4",
        "--bin-size",
        "15",
        "--bin-unit",
        "minutes",
        "--capture-key",
        "web/march",
    ]
    result = cli(*args)
    assert result.exit_code == 0, result.output
    target = settings.telemetry_root / "web" / "march"
    lines = result.stdout.splitlines()
    assert lines[0] == f"Input: {tmp_path / 'rows.csv'} (csv, 5 rows)"
    assert lines[1] == "Rows: 5 accepted, 0 outside the window, 0 dropped"
    assert lines[2:6] == [
        f"Output Directory: {target}",
        "Files (3):",
        "  - HttpService_arrivals.csv (HttpService:Arrivals)",
        "  - HttpService_served.csv (HttpService:Served)",
    ]
    assert "  - [data_gap] Missing value at bin 2 for HttpService:Arrivals." in lines
    assert lines[-1] == f"Import complete. Manifest written to {target / 'manifest.json'}"
    assert (target / "import.json").is_file()
    again = cli(*args)
    assert again.exit_code == 3 and "Error [capture_exists]" in again.stderr
    assert cli(*args, "--overwrite", "--json").exit_code == 0


def test_import_with_model_json_and_dry_run(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "rows.csv").write_text(ROWS)
    model = tmp_path / "model.yaml"
    model.write_text(SMALL_MODEL)
    out = tmp_path / "imported"
    base = ["import", "--input", str(tmp_path / "rows.csv"), "--model", str(model), "--output", str(out)]
    plan = cli(*base, "--dry-run", "--json")
    assert plan.exit_code == 0
    body = json.loads(plan.stdout)
    assert body["runId"].startswith("import_") and not out.exists()
    assert body["warnings"][0]["code"] == "unknown_node"
    written = cli(*base, "--gap-mode", "fill-zero", "--level-agg", "capacity=mean", "--json")
    manifest = json.loads(written.stdout)
    assert manifest == json.loads((out / "manifest.json").read_text())
    assert manifest["provenance"]["modelHash"].startswith("sha256:")
    assert json.loads((out / "import.json").read_text())["aggregation"]["capacity"] == "mean"


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["--start", "2026-03-02T08:00:00Z"],
        ["--model", "m.yaml", "--bins", "4"],
        [
            "--start",
            "2026-03-02T08:00:00Z",
            "--bins",
            "4",
            "--bin-size",
            "15",
            "--bin-unit",
            "minutes",
            "--level-agg",
            "arrivals=mean",
        ],
        ["--start", "2026-03-02T08:00:00Z", "--bins", "0", "--bin-size", "15", "--bin-unit", "minutes"],
    ],
)
def test_import_usage_errors_exit_2(cli: Any, tmp_path: Path, extra: list[str]) -> None:
    (tmp_path / "rows.csv").write_text(ROWS)
    (tmp_path / "m.yaml").write_text(SMALL_MODEL)
    args = ["import", "--input", str(tmp_path / "rows.csv"), "--output", str(tmp_path / "o")]
    result = cli(*[a if a != "m.yaml" else str(tmp_path / "m.yaml") for a in [*args, *extra]])
    assert result.exit_code == 2


def test_import_needs_exactly_one_target_and_bad_rows_fail(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "rows.csv").write_text(ROWS + "soon,A,served,1\n")
    grid = ["--start", "2026-03-02T08:00:00Z", "--bins", "4", "--bin-size", "15", "--bin-unit", "minutes"]
    base = ["import", "--input", str(tmp_path / "rows.csv"), *grid]
    assert cli(*base).exit_code == 2
    assert cli(*base, "--output", str(tmp_path / "o"), "--capture-key", "k").exit_code == 2
    bad = cli(*base, "--output", str(tmp_path / "o"))
    assert bad.exit_code == 1
    assert (
        "Error [import_row_invalid]: Row 6: timestamp 'soon' is not an ISO-8601 time such as 2026-03-02T08:00:00Z."
        in bad.stderr
    )
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------------------------------ by hand, round 2


def test_capture_default_output_is_named_by_the_run_id_in_run_json(
    cli: Any, settings: Settings, tmp_path: Path
) -> None:
    run = hand_run(
        tmp_path / "elsewhere", {"calls": csv_text("1", "2", "3", "4"), "handled": csv_text("1", "1", "1", "1")}
    )
    renamed = run.rename(tmp_path / "copied-run")
    result = cli("capture", "--run-dir", str(renamed))
    assert result.exit_code == 0, result.output
    assert (settings.telemetry_root / "run_hand" / "manifest.json").is_file()
    assert not (settings.telemetry_root / "copied-run").exists()
    (renamed / "run.json").write_text(
        json.dumps({"runId": "../../escape", "scenarioHash": "sha256:" + "ab" * 32}), encoding="utf-8"
    )
    bad = cli("capture", "--run-dir", str(renamed))
    assert bad.exit_code == 2
    assert bad.stderr.strip().endswith(
        "The run's id '../../escape' (run.json) is not a valid directory name; give --output DIR."
    )
    assert cli("capture", "--run-dir", str(renamed), "--out", str(tmp_path / "given")).exit_code == 0


def test_bundle_capture_key_wins_over_a_same_named_directory_in_the_working_directory(
    cli: Any, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With --data-dir . a run directory and its default capture key share a name: the key is meant.
    source = simulate(settings.runs_root, "http-service")
    assert cli("capture", "--run-id", source.name).exit_code == 0
    text, _seed = template_model("http-service")
    (tmp_path / "model.yaml").write_text(text)
    monkeypatch.chdir(settings.runs_root)
    assert Path(source.name).is_dir()
    result = cli("bundle", "--capture-dir", source.name, "--model", str(tmp_path / "model.yaml"), "--run-id", "r1")
    assert result.exit_code == 0, result.output
    missing = cli("bundle", "--capture-dir", "no-such-key", "--model", str(tmp_path / "model.yaml"))
    assert missing.exit_code == 1
    assert missing.stderr.strip().endswith(
        "Error [capture_not_found]: Capture 'no-such-key' was not found: it is neither a capture key under the "
        "telemetry root nor a directory."
    )
    unreadable = cli("bundle", "--capture-dir", source.name, "--model", str(tmp_path / "none.yaml"))
    assert unreadable.exit_code == 1
    assert f"Error [model_unreadable]: Cannot read model file '{tmp_path / 'none.yaml'}': No such file" in (
        unreadable.stderr
    )


def test_import_progress_bar_only_on_a_terminal(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "rows.csv").write_text(ROWS)
    args = ["import", "--input", str(tmp_path / "rows.csv"), "--start", "2026-03-02T08:00:00Z"]
    args += ["--bins", "4", "--bin-size", "15", "--bin-unit", "minutes", "--gap-mode", "ignore"]
    piped = cli(*args, "--output", str(tmp_path / "piped"))
    assert piped.exit_code == 0 and "Importing" not in piped.stderr
    primary, secondary = pty.openpty()
    env = {**os.environ, "FLOWTIME_LOG_LEVEL": "error", "COLUMNS": "100", "TERM": "xterm"}
    command = [sys.executable, "-c", "from flowtime.cli.main import main; main()", "--data-dir", str(tmp_path)]
    try:
        done = subprocess.run(
            [*command, "telemetry", *args, "--output", str(tmp_path / "tty")],
            stdout=subprocess.PIPE,
            stderr=secondary,
            env=env,
            timeout=120,
            check=False,
        )
        os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(primary)
    assert done.returncode == 0
    assert b"Importing rows.csv" in b"".join(chunks)
    assert b"Importing" not in done.stdout and done.stdout.decode().startswith("Input: ")
