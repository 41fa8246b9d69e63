"""`flowtime runs | state | telemetry generate|list` as thin clients: in-process and over HTTP alike."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from tests.api.factories import logging_kept
from typer.testing import CliRunner

from flowtime.cli.main import app, hoist_global_options
from flowtime.errors import WriteFailed
from flowtime.runs import RunService, Settings
from flowtime.server import create_app


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in ("FLOWTIME_SERVER", "FLOWTIME_LOG_LEVEL", "FLOWTIME_RUNS_ROOT", "FLOWTIME_TELEMETRY_ROOT"):
        monkeypatch.delenv(name, raising=False)
    return Settings.resolve(data_dir=tmp_path / "data", env={})


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Each invocation configures the process's logging, as the real command does; undo it afterwards."""
    with logging_kept():
        yield


@pytest.fixture
def cli(settings: Settings) -> Any:
    """The real ``flowtime`` command tree, with global options anywhere, on the test's data directory."""
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(app, hoist_global_options(["--data-dir", str(settings.data_dir), *args]))

    return invoke


@pytest.fixture
def server(settings: Settings) -> Iterator[str]:
    """A real uvicorn server on a free port, for ``--server``."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    while not instance.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(5)


def create_sim(cli: Any, *extra: str) -> str:
    result = cli("runs", "create", "--template-id", "http-service", "--mode", "simulation", "--json", *extra)
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout)["metadata"]["runId"])


def test_create_prints_summary_and_list_shows_it(cli: Any) -> None:
    result = cli(
        "runs",
        "create",
        "--template-id",
        "http-service",
        "--mode",
        "simulation",
        "--param",
        "errorRate=0.1",
        "--seed",
        "7",
        "--run-id",
        "demo",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Run created: demo",
        "Mode: simulation",
        "Template: http-service",
        "Telemetry sources resolved: true",
    ]
    listed = cli("runs", "list")
    assert listed.exit_code == 0
    assert listed.stdout.splitlines()[0].split() == [
        "RUN",
        "ID",
        "TEMPLATE",
        "MODE",
        "CREATED",
        "TELEMETRY",
        "WARNINGS",
    ]
    assert listed.stdout.splitlines()[1].split()[:3] == ["demo", "http-service", "simulation"]
    shown = json.loads(cli("runs", "show", "demo", "--json").stdout)
    assert shown["run"]["parameters"]["errorRate"] == 0.1
    assert shown["metadata"]["rng"] == {"kind": "pcg32", "seed": 7}


def test_dry_run_text(cli: Any) -> None:
    result = cli("runs", "create", "--template-id", "http-service", "--mode", "simulation", "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "Dry run completed. No files were written."


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("runs", "show", "missing"), 4),
        (("runs", "show", ".bad"), 2),
        (("runs", "create", "--template-id", "nope", "--mode", "simulation"), 4),
        (("runs", "create", "--template-id", "http-service"), 2),
        (("runs", "create", "--template-id", "http-service", "--capture-dir", "none"), 5),
        (("runs", "list", "--has-warnings", "maybe"), 2),
        (("state", "missing", "--bin", "0"), 4),
        (("state", "x", "--bin", "1", "--start-bin", "0"), 2),
        (("telemetry", "generate", "--run-id", "missing"), 4),
    ],
)
def test_exit_codes_follow_the_api_status(cli: Any, args: tuple[str, ...], code: int) -> None:
    result = cli(*args)
    assert result.exit_code == code, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error [")


def test_json_errors_print_the_api_body(cli: Any) -> None:
    result = cli("runs", "show", "missing", "--json")
    assert result.exit_code == 4
    assert json.loads(result.stdout) == {"error": "Run 'missing' not found.", "code": "run_not_found"}


def test_generate_then_409_with_stored_time_then_state(cli: Any) -> None:
    run_id = create_sim(cli)
    first = cli("telemetry", "generate", "--run-id", run_id, "--json")
    assert first.exit_code == 0, first.output
    stamp = json.loads(first.stdout)["capture"]["generatedAtUtc"]
    again = cli("telemetry", "generate", "--run-id", run_id)
    assert again.exit_code == 3
    assert stamp in again.stderr and "capture_exists" in again.stderr
    assert cli("telemetry", "generate", "--run-id", run_id, "--overwrite").exit_code == 0
    listed = json.loads(cli("telemetry", "list", "--source-run-id", run_id, "--json").stdout)
    assert [i["captureDirectory"] for i in listed["items"]] == [f"run:{run_id}"]
    snap = cli("state", run_id, "--bin", "4")
    assert snap.exit_code == 0 and "RequestQueue" in snap.stdout and "red" in snap.stdout
    win = json.loads(cli("state", run_id, "--start-bin", "0", "--end-bin", "7", "--json").stdout)
    assert win["window"]["binCount"] == 8


def test_server_mode_prints_the_same_json(cli: Any, server: str) -> None:
    local = create_sim(cli, "--deterministic-run-id")
    remote = cli("runs", "show", local, "--json", "--server", server)
    assert remote.exit_code == 0, remote.output
    assert json.loads(remote.stdout) == json.loads(cli("runs", "show", local, "--json").stdout)
    missing = cli("runs", "show", "missing", "--json", "--server", server)
    assert (missing.exit_code, json.loads(missing.stdout)["code"]) == (4, "run_not_found")
    bad = cli("state", local, "--bin", "99", "--server", server)
    assert bad.exit_code == 2 and "bin_out_of_range" in bad.stderr
    gen = cli("telemetry", "generate", "--run-id", local, "--server", server)
    assert gen.exit_code == 0
    assert cli("telemetry", "generate", "--run-id", local, "--server", server).exit_code == 3


def test_unreachable_server_is_a_runtime_failure(cli: Any) -> None:
    result = cli("runs", "list", "--server", "http://127.0.0.1:9")
    assert result.exit_code == 1
    assert "server_unreachable" in result.stderr


def test_in_process_commands_print_only_the_error_unless_a_level_is_chosen(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = ("runs", "create", "--template-id", "nope", "--mode", "simulation")
    assert cli(*refused).stderr.splitlines() == ["Error [template_not_found]: Template not found: nope"]
    assert cli("runs", "create", "--template-id", "http-service", "--mode", "simulation").stderr == ""
    chosen = cli(*refused, "--log-level", "warning").stderr.splitlines()
    assert [json.loads(line)["eventId"] for line in chosen[:-1]] == [4500]
    assert chosen[-1] == "Error [template_not_found]: Template not found: nope"
    monkeypatch.setenv("FLOWTIME_LOG_LEVEL", "info")
    events = [json.loads(line)["eventId"] for line in cli(*refused).stderr.splitlines()[:-1]]
    assert events[:2] == [1001, 4001] and events[-1] == 4500


def test_paths_named_on_the_command_line_are_allowed_in_process(cli: Any, tmp_path: Path) -> None:
    run_id = create_sim(cli)
    outside = tmp_path / "elsewhere" / "capture"
    generated = cli("telemetry", "generate", "--run-id", run_id, "--output-dir", str(outside))
    assert generated.exit_code == 0, generated.output
    assert (outside / "manifest.json").is_file()
    replay = cli("runs", "create", "--template-id", "http-service", "--capture-dir", str(outside), "--json")
    assert replay.exit_code == 0, replay.output
    assert json.loads(replay.stdout)["metadata"]["mode"] == "telemetry"
    relative = cli("telemetry", "generate", "--run-id", run_id, "--output-dir", "../../escape")
    assert relative.exit_code == 2 and "path_outside_roots" in relative.stderr


def test_in_process_server_errors_print_the_api_body(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(self: RunService, run_id: str) -> Any:
        raise WriteFailed(f"Could not write /srv/data/{run_id}/run.json")

    monkeypatch.setattr(RunService, "show_run", fail)
    as_json = cli("runs", "show", "r", "--json")
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout) == {
        "error": "The run could not be written; nothing was changed.",
        "code": "write_failed",
    }
    as_text = cli("runs", "show", "r")
    assert (as_text.exit_code, as_text.stderr) == (1, "Error [write_failed]: Could not write /srv/data/r/run.json\n")
