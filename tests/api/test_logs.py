"""Structured logs of api.md §10 through the real app: every event of runs, captures, state and requests."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import LogLines
from tests.api.factories import simulated_run, write_run_dir

from flowtime.runs import Settings
from flowtime.telemetry import capture_lock

HEAD = ["timestamp", "level", "logger", "eventId", "event", "message"]


def fields(event: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: event[name] for name in names}


def simulate(client: TestClient, **body: Any) -> str:
    response = client.post("/v1/runs", json={"templateId": "http-service", "mode": "simulation", **body})
    assert response.status_code == 201, response.text
    return str(response.json()["metadata"]["runId"])


def test_every_line_starts_with_the_common_members(client: TestClient, logs: LogLines) -> None:
    simulate(client)
    events = logs.events()
    assert events
    for event in events:
        assert list(event)[:6] == HEAD, event
        assert event["timestamp"].endswith("Z") and len(event["timestamp"]) == 27
        assert event["level"] in ("debug", "info", "warning", "error")
        assert event["logger"].startswith("flowtime")


def test_simulation_run_logs_orchestration_4001_to_4005(client: TestClient, logs: LogLines) -> None:
    run_id = simulate(client, rng={"kind": "pcg32", "seed": 7})
    start = logs.one(4001)
    assert (start["level"], start["event"]) == ("info", "RunOrchestrationStart")
    assert fields(start, "templateId", "mode", "dryRun") == {
        "templateId": "http-service",
        "mode": "simulation",
        "dryRun": False,
    }
    assert fields(logs.one(4002), "templateId", "mode", "parameterCount", "rngSeed") == {
        "templateId": "http-service",
        "mode": "simulation",
        "parameterCount": 6,
        "rngSeed": 7,
    }
    evaluation = logs.one(4003)
    assert fields(evaluation, "templateId", "bins", "columnCount") == {
        "templateId": "http-service",
        "bins": 8,
        "columnCount": 6,
    }
    assert evaluation["durationMs"] >= 0
    assert fields(logs.one(4004), "runId", "seriesCount", "telemetryFileCount") == {
        "runId": run_id,
        "seriesCount": 6,
        "telemetryFileCount": 0,
    }
    done = logs.one(4005)
    assert fields(done, "runId", "templateId", "mode", "message") == {
        "runId": run_id,
        "templateId": "http-service",
        "mode": "simulation",
        "message": f"Completed simulation run {run_id} for template http-service",
    }


def test_telemetry_run_and_dry_run_completion_messages(client: TestClient, logs: LogLines) -> None:
    source = simulate(client)
    assert client.post("/v1/telemetry/captures", json={"source": {"runId": source}}).status_code == 200
    body = {"templateId": "http-service", "telemetry": {"captureDirectory": f"run:{source}"}}
    replay = client.post("/v1/runs", json=body).json()["metadata"]["runId"]
    planned = client.post("/v1/runs", json={**body, "options": {"dryRun": True}})
    assert planned.status_code == 200
    messages = [e["message"] for e in logs.events(4005)]
    assert messages[1:] == [
        f"Completed telemetry run {replay} for template http-service",
        "Telemetry dry-run planned for template http-service; files=7, warnings=0",
    ]
    assert logs.events(4004)[-1]["telemetryFileCount"] == 7
    replay_evaluation = logs.events(4003)[-1]
    assert fields(replay_evaluation, "templateId", "bins", "columnCount") == {
        "templateId": "http-service",
        "bins": 8,
        "columnCount": logs.events(4004)[-1]["seriesCount"],
    }


@pytest.mark.parametrize(
    ("body", "status", "code", "level"),
    [
        ({"templateId": "nope", "mode": "simulation"}, 404, "template_not_found", "warning"),
        (
            {"templateId": "http-service", "telemetry": {"captureDirectory": "none"}},
            422,
            "capture_not_found",
            "warning",
        ),
    ],
)
def test_orchestration_failure_logs_4500(
    client: TestClient, logs: LogLines, body: dict[str, Any], status: int, code: str, level: str
) -> None:
    response = client.post("/v1/runs", json=body)
    assert (response.status_code, response.json()["code"]) == (status, code)
    failed = logs.one(4500)
    assert failed["level"] == level
    assert fields(failed, "templateId", "mode", "code", "error") == {
        "templateId": body["templateId"],
        "mode": "simulation" if "mode" in body else "telemetry",
        "code": code,
        "error": response.json()["error"],
    }


def test_existing_run_id_is_a_4xx_failure_at_warning_level(client: TestClient, logs: LogLines) -> None:
    simulate(client, options={"runId": "taken"})
    response = client.post(
        "/v1/runs", json={"templateId": "http-service", "mode": "simulation", "options": {"runId": "taken"}}
    )
    assert response.status_code == 409
    assert fields(logs.one(4500), "level", "code") == {"level": "warning", "code": "run_exists"}


def test_generation_logs_start_files_warnings_and_completion(
    client: TestClient, settings: Settings, logs: LogLines
) -> None:
    simulated_run(settings.runs_root, "nan", nan_served_at=1)
    response = client.post("/v1/telemetry/captures", json={"source": {"runId": "nan"}, "output": {"captureKey": "k"}})
    assert response.status_code == 200
    start = logs.one(2101)
    assert fields(start, "runId", "templateId", "captureKey", "target", "overwrite") == {
        "runId": "nan",
        "templateId": "checkout",
        "captureKey": "k",
        "target": "captureKey",
        "overwrite": False,
    }
    files = logs.events(2002)
    assert [(e["nodeId"], e["metric"], e["targetFile"]) for e in files][:2] == [
        ("Checkout", "Arrivals", "Checkout_arrivals.csv"),
        ("Checkout", "Served", "Checkout_served.csv"),
    ]
    assert {e["runId"] for e in files} == {"nan"}
    warnings = logs.events(2004)
    assert [fields(w, "level", "runId", "code", "nodeId", "metric", "bins") for w in warnings] == [
        {"level": "warning", "runId": "nan", "code": "nan_detected", "nodeId": node, "metric": "Served", "bins": [1]}
        for node in ("Checkout", "RefundQueue")
    ]
    assert warnings[0]["message"] == (
        "Capture warning nan_detected for Checkout:Served - Detected NaN/∞ at bin 1 for Checkout:Served."
    )
    done = logs.one(2102)
    assert fields(done, "runId", "templateId", "captureKey", "fileCount", "warningCount") == {
        "runId": "nan",
        "templateId": "checkout",
        "captureKey": "k",
        "fileCount": len(files),
        "warningCount": 2,
    }
    assert done["durationMs"] >= 0


def test_generation_logs_capture_start_and_completed(client: TestClient, settings: Settings, logs: LogLines) -> None:
    simulated_run(settings.runs_root, "r")
    assert client.post("/v1/telemetry/captures", json={"source": {"runId": "r"}}).status_code == 200
    start = logs.one(2001)
    assert start["outputDirectory"] == str(settings.runs_root.resolve() / "r" / "model" / "telemetry")
    assert fields(start, "runId", "dryRun", "gapMode", "fillNaN") == {
        "runId": "r",
        "dryRun": False,
        "gapMode": "ignore",
        "fillNaN": False,
    }
    assert fields(logs.one(2003), "runId", "fileCount", "warningCount", "dryRun") == {
        "runId": "r",
        "fileCount": 6,
        "warningCount": 0,
        "dryRun": False,
    }


def test_generation_exists_busy_and_failed(client: TestClient, settings: Settings, logs: LogLines) -> None:
    run_dir = simulated_run(settings.runs_root, "r")
    assert client.post("/v1/telemetry/captures", json={"source": {"runId": "r"}}).status_code == 200
    again = client.post("/v1/telemetry/captures", json={"source": {"runId": "r"}})
    assert again.status_code == 409
    exists = logs.one(2103)
    assert fields(exists, "runId", "templateId", "captureKey", "generatedAtUtc") == {
        "runId": "r",
        "templateId": "checkout",
        "captureKey": None,
        "generatedAtUtc": again.json()["capture"]["generatedAtUtc"],
    }
    with capture_lock((run_dir / "model" / "telemetry").resolve(), settings.telemetry_root.resolve()):
        busy = client.post("/v1/telemetry/captures", json={"source": {"runId": "r"}, "output": {"overwrite": True}})
    assert (busy.status_code, busy.json()["code"]) == (409, "capture_in_progress")
    assert fields(logs.one(2105), "level", "runId", "captureKey") == {
        "level": "warning",
        "runId": "r",
        "captureKey": None,
    }
    for name in (run_dir / "series").glob("*.csv"):
        name.unlink()
    failed = client.post("/v1/telemetry/captures", json={"source": {"runId": "r"}, "output": {"captureKey": "x"}})
    assert (failed.status_code, failed.json()["code"]) == (422, "capture_source_invalid")
    assert fields(logs.one(2104), "level", "runId", "templateId", "captureKey", "code", "error") == {
        "level": "warning",
        "runId": "r",
        "templateId": "checkout",
        "captureKey": "x",
        "code": "capture_source_invalid",
        "error": failed.json()["error"],
    }


def test_state_queries_log_3001_and_3002(client: TestClient, settings: Settings, logs: LogLines) -> None:
    write_run_dir(settings.runs_root, "r")
    client.get("/v1/runs/r/state", params={"binIndex": 2})
    client.get("/v1/runs/r/state_window", params={"startBin": 1, "endBin": 3})
    snapshot = logs.one(3001)
    assert fields(snapshot, "level", "runId", "mode", "binIndex", "totalBins", "nodeCount", "warningCount") == {
        "level": "info",
        "runId": "r",
        "mode": "simulation",
        "binIndex": 2,
        "totalBins": 4,
        "nodeCount": 2,
        "warningCount": 0,
    }
    assert fields(logs.one(3002), "runId", "mode", "startBin", "endBin", "requestedBins", "totalBins") == {
        "runId": "r",
        "mode": "simulation",
        "startBin": 1,
        "endBin": 3,
        "requestedBins": 3,
        "totalBins": 4,
    }


def test_unresolved_telemetry_source_logs_3003(client: TestClient, settings: Settings, logs: LogLines) -> None:
    model = (
        "schemaVersion: 1\nmode: telemetry\ngrid: {bins: 4, binSize: 5, binUnit: minutes}\n"
        "topology:\n  nodes:\n    - id: Checkout\n"
        "      semantics: {arrivals: file://telemetry/gone.csv, served: file://telemetry/gone.csv}\n"
    )
    write_run_dir(settings.runs_root, "t", model=model, series={}, mode="telemetry")
    assert client.get("/v1/runs/t/state", params={"binIndex": 0}).status_code == 200
    missing, _ = logs.events(3003)
    assert fields(missing, "level", "runId", "nodeId", "semantic", "message") == {
        "level": "warning",
        "runId": "t",
        "nodeId": "Checkout",
        "semantic": "arrivals",
        "message": "Telemetry source missing for node Checkout in run t",
    }


@pytest.mark.parametrize(
    ("run_id", "query", "status", "code", "level"),
    [
        ("nope", {"binIndex": 0}, 404, "run_not_found", "warning"),
        ("r", {"binIndex": 9}, 400, "bin_out_of_range", "warning"),
        ("bad", {"binIndex": 0}, 500, "node_load_failed", "error"),
    ],
)
def test_failed_state_queries_log_3004(
    client: TestClient,
    settings: Settings,
    logs: LogLines,
    run_id: str,
    query: dict[str, int],
    status: int,
    code: str,
    level: str,
) -> None:
    write_run_dir(settings.runs_root, "r")
    bad = write_run_dir(settings.runs_root, "bad")
    (bad / "series" / "served@SERVED@DEFAULT.csv").write_text("bin_index,value\n0,oops\n")
    assert client.get(f"/v1/runs/{run_id}/state", params=query).status_code == status
    assert fields(logs.one(3004), "level", "runId", "status", "code") == {
        "level": level,
        "runId": run_id,
        "status": status,
        "code": code,
    }


def test_unreadable_run_in_the_listing_logs_4501(client: TestClient, settings: Settings, logs: LogLines) -> None:
    (write_run_dir(settings.runs_root, "broken") / "run.json").write_text("{")
    assert client.get("/v1/runs").json()["items"] == []
    assert fields(logs.one(4501), "level", "runId", "reason") == {
        "level": "warning",
        "runId": "broken",
        "reason": "run.json is unreadable",
    }


def test_every_request_logs_5001_with_its_request_id(client: TestClient, logs: LogLines) -> None:
    response = client.get("/v1/runs/missing")
    request = logs.one(5001)
    assert fields(request, "level", "method", "path", "status", "requestId") == {
        "level": "info",
        "method": "GET",
        "path": "/v1/runs/missing",
        "status": 404,
        "requestId": response.headers["x-request-id"],
    }
    assert request["elapsedMs"] >= 0


def test_template_generation_logs_1003_and_1004(client: TestClient, logs: LogLines) -> None:
    assert client.post("/v1/templates/http-service/generate", json={}).status_code == 200
    generated = logs.one(1003)
    assert fields(generated, "templateId", "templateVersion", "mode", "parameterCount") == {
        "templateId": "http-service",
        "templateVersion": "1.0.0",
        "mode": "simulation",
        "parameterCount": 6,
    }
    assert client.post("/v1/templates/http-service/generate", json={"bins": -1}).status_code == 400
    assert fields(logs.one(1004), "level", "templateId", "code", "errorCount") == {
        "level": "warning",
        "templateId": "http-service",
        "code": "parameter_invalid",
        "errorCount": 1,
    }
