"""``create_app`` and ``flowtime serve``: roots, demo runs on first start, the UI mount, options and env vars."""

from __future__ import annotations

import logging
import socket
import warnings
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from tests.api.factories import logging_kept
from typer.testing import CliRunner

from flowtime.cli.main import app as cli_app
from flowtime.cli.main import hoist_global_options
from flowtime.logs import get_logger
from flowtime.runs import RunService, Settings
from flowtime.server import create_app
from flowtime.sim import Catalogue, load_catalogue

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """``serve`` configures the process's logging; put it back for the tests that follow."""
    with logging_kept():
        yield


def test_roots_are_created_and_canonical(tmp_path: Path, catalogue: Catalogue) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    settings = Settings.resolve(data_dir=tmp_path / "link" / "data", telemetry_root=tmp_path / "tel" / "x", env={})
    app = create_app(settings, service=RunService(settings.ensure_roots(), catalogue=catalogue))
    ready: Settings = app.state.settings
    assert ready.runs_root == (tmp_path / "real" / "data").resolve() and ready.runs_root.is_dir()
    assert ready.telemetry_root == (tmp_path / "tel" / "x").resolve() and ready.telemetry_root.is_dir()
    with TestClient(app) as client:
        assert client.get("/v1/runs").json()["totalCount"] == 0  # no demo unless asked


def test_demo_runs_are_created_on_first_start_only(tmp_path: Path, catalogue: Catalogue) -> None:
    settings = Settings.resolve(data_dir=tmp_path / "data", env={}, demo=True).ensure_roots()

    def started() -> list[dict[str, Any]]:
        app = create_app(settings, service=RunService(settings, catalogue=catalogue))
        with TestClient(app) as client:
            return list(client.get("/v1/runs").json()["items"])

    first = started()
    assert sorted(i["mode"] for i in first) == ["simulation"] * 3 + ["telemetry"]
    assert [i["runId"] for i in started()] == [i["runId"] for i in first]


def test_the_web_ui_is_served_by_the_same_app(tmp_path: Path, catalogue: Catalogue) -> None:
    settings = Settings.resolve(data_dir=tmp_path / "data", env={}).ensure_roots()
    with TestClient(create_app(settings, service=RunService(settings, catalogue=catalogue))) as client:
        page = client.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert client.get("/v1/healthz").json()["status"] == "healthy"


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, restore_logging: None) -> Iterator[dict[str, Any]]:
    """What ``flowtime serve`` hands to uvicorn (the app and the listening socket), instead of serving."""
    for name in ("FLOWTIME_DATA_DIR", "FLOWTIME_RUNS_ROOT", "FLOWTIME_TELEMETRY_ROOT", "FLOWTIME_TEMPLATES_DIR"):
        monkeypatch.delenv(name, raising=False)
    calls: dict[str, Any] = {}

    def run(server: uvicorn.Server, sockets: list[socket.socket]) -> None:
        calls.update(app=server.config.app, address=sockets[0].getsockname()[:2])
        calls["sockets"] = sockets

    monkeypatch.setattr(uvicorn.Server, "run", run)
    yield calls
    for listener in calls.get("sockets", []):
        listener.close()


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli_app, hoist_global_options(list(args)))


def test_serve_options_choose_roots_templates_host_and_port(tmp_path: Path, served: dict[str, Any]) -> None:
    extra = tmp_path / "templates"
    extra.mkdir()
    text = resources.files("flowtime.sim").joinpath("templates", "http-service.yaml").read_text()
    (extra / "mine.yaml").write_text(text.replace("id: http-service", "id: my-service", 1))
    result = invoke(
        "serve",
        "--data-dir",
        str(tmp_path / "d"),
        "--telemetry-root",
        str(tmp_path / "t"),
        "--templates-dir",
        str(extra),
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--state-window-max",
        "50",
    )
    assert result.exit_code == 0, result.output
    host, port = served["address"]
    assert host == "127.0.0.1" and port > 0
    assert f"FlowTime listening on http://127.0.0.1:{port}" in result.stderr
    settings: Settings = served["app"].state.settings
    assert settings.runs_root == (tmp_path / "d").resolve() and settings.runs_root.is_dir()
    assert settings.telemetry_root == (tmp_path / "t").resolve() and settings.telemetry_root.is_dir()
    assert (settings.state_window_max, settings.demo) == (50, False)
    service: RunService = served["app"].state.service
    assert "my-service" in [t["id"] for t in service.list_templates()]
    assert '"eventId": 1001' in result.stderr and '"source": "package+directory"' in result.stderr


def test_serve_reads_the_environment_and_demo_flag(
    tmp_path: Path, served: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWTIME_DATA_DIR", str(tmp_path / "env-data"))
    monkeypatch.setenv("FLOWTIME_TELEMETRY_ROOT", str(tmp_path / "env-tel"))
    result = invoke("serve", "--demo", "--port", "0")
    assert result.exit_code == 0, result.output
    settings: Settings = served["app"].state.settings
    assert settings.runs_root == (tmp_path / "env-data").resolve()
    assert settings.telemetry_root == (tmp_path / "env-tel").resolve()
    assert (settings.demo, settings.host, served["address"][0]) == (True, "127.0.0.1", "127.0.0.1")


def test_serve_with_a_missing_templates_dir_is_a_usage_error(tmp_path: Path, served: dict[str, Any]) -> None:
    result = invoke("serve", "--data-dir", str(tmp_path / "d"), "--templates-dir", str(tmp_path / "none"))
    assert result.exit_code == 2
    assert "Error [templates_dir_not_found]" in result.stderr
    assert served == {}


def test_serve_logs_at_the_chosen_level(tmp_path: Path, served: dict[str, Any]) -> None:
    result = invoke("serve", "--data-dir", str(tmp_path / "d"), "--port", "0", "--log-level", "warning")
    assert result.exit_code == 0
    assert '"eventId": 1001' not in result.stderr
    assert get_logger().level == logging.WARNING


def test_a_port_in_use_is_a_clear_failure_before_listening(tmp_path: Path, served: dict[str, Any]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = invoke("serve", "--data-dir", str(tmp_path / "d"), "--port", str(port))
    assert result.exit_code == 1
    assert (
        result.stderr.splitlines()[-1]
        == f"Error [listen_failed]: Cannot listen on 127.0.0.1:{port}: Address already in use."
    )
    assert "listening" not in result.stderr and served == {}
