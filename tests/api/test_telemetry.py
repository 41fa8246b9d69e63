"""POST/GET /v1/telemetry/captures: statuses, capture keys, bindings and concurrency."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.api.factories import simulated_run

from flowtime.runs import Settings
from flowtime.telemetry import build_bundle


def simulate(client: TestClient, **extra: Any) -> str:
    body = {"templateId": "http-service", "mode": "simulation", **extra}
    response = client.post("/v1/runs", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["metadata"]["runId"])


def capture(client: TestClient, run_id: str, **output: Any) -> httpx.Response:
    return client.post("/v1/telemetry/captures", json={"source": {"type": "RUN", "runId": run_id}, "output": output})


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "invalid_source"),
        ({"source": {"type": "simulate", "runId": "x"}}, 400, "invalid_source"),
        ({"source": {"type": "run"}}, 400, "invalid_source"),
        ({"source": {"runId": "../x"}}, 400, "invalid_run_id"),
        ({"source": {"runId": "missing"}}, 404, "run_not_found"),
        ({"source": {"runId": "x"}, "output": {"captureKey": "a", "directory": "b"}}, 400, "invalid_output"),
        ({"source": {"runId": "x"}, "output": {"captureKey": "../a"}}, 400, "invalid_capture_key"),
    ],
)
def test_capture_request_errors(client: TestClient, body: dict[str, Any], status: int, code: str) -> None:
    response = client.post("/v1/telemetry/captures", json=body)
    assert (response.status_code, response.json()["code"]) == (status, code)


def test_output_directory_outside_the_roots_is_refused(client: TestClient) -> None:
    run_id = simulate(client)
    response = capture(client, run_id, directory="/etc/flowtime")
    assert (response.status_code, response.json()["code"]) == (400, "path_outside_roots")
    assert "/etc" not in response.json()["error"] or "'/etc/flowtime'" in response.json()["error"]


def test_telemetry_runs_cannot_be_captured(client: TestClient) -> None:
    run_id = simulate(client)
    assert capture(client, run_id).status_code == 200
    replay = client.post(
        "/v1/runs", json={"templateId": "http-service", "telemetry": {"captureDirectory": f"run:{run_id}"}}
    ).json()["metadata"]["runId"]
    response = capture(client, replay)
    assert (response.status_code, response.json()["code"]) == (422, "capture_source_invalid")


def test_capture_key_target_lists_and_replays_by_key(client: TestClient, settings: Settings) -> None:
    run_id = simulate(client)
    response = capture(client, run_id, captureKey="web/2026-03")
    assert response.status_code == 200
    assert response.json()["capture"]["captureKey"] == "web/2026-03"
    assert (settings.telemetry_root / "web" / "2026-03" / "manifest.json").is_file()
    items = client.get("/v1/telemetry/captures", params={"templateId": "http-service"}).json()["items"]
    assert {i["captureDirectory"] for i in items} >= {"web/2026-03"}
    keyed = next(i for i in items if i["captureDirectory"] == "web/2026-03")
    assert keyed["captureKey"] == "web/2026-03" and keyed["templateVersion"] == "1.0.0"
    assert "/" not in json.dumps(keyed).replace("web/2026-03", "")
    replay = client.post(
        "/v1/runs",
        json={
            "templateId": "http-service",
            "telemetry": {"captureDirectory": "web/2026-03"},
            "options": {"dryRun": True},
        },
    )
    assert replay.status_code == 200
    plan = replay.json()["plan"]
    assert plan["captureDirectory"] == "web/2026-03" and len(plan["files"]) == 7
    assert plan["files"][0] == {
        "nodeId": "HttpService",
        "metric": "Arrivals",
        "path": "HttpService_arrivals.csv",
    }


def test_bindings_must_name_string_parameters_and_existing_files(client: TestClient) -> None:
    run_id = simulate(client)
    capture(client, run_id, captureKey="k")

    def replay(bindings: dict[str, str]) -> httpx.Response:
        telemetry = {"captureDirectory": "k", "bindings": bindings}
        return client.post(
            "/v1/runs",
            json={"templateId": "http-service", "telemetry": telemetry, "options": {"dryRun": True}},
        )

    assert replay({"bins": "x.csv"}).json()["code"] == "invalid_binding"
    assert replay({"telemetryRequestsSource": "../x.csv"}).json()["code"] == "invalid_binding"
    missing = replay({"telemetryRequestsSource": "nope.csv"})
    assert (missing.status_code, missing.json()) == (
        422,
        {
            "error": "Telemetry file for parameter 'telemetryRequestsSource' not found in capture 'k'.",
            "code": "capture_file_missing",
        },
    )
    bound = replay({"telemetryRequestsSource": "HttpService_arrivals.csv"})
    assert bound.status_code == 200
    plan = bound.json()["plan"]
    assert plan["parameters"]["telemetryRequestsSource"] == "file://telemetry/HttpService_arrivals.csv"
    assert plan["telemetryBindings"] == {"telemetryRequestsSource": "HttpService_arrivals.csv"}


def test_twenty_parallel_generations_yield_one_bundle(app: FastAPI, settings: Settings) -> None:
    with TestClient(app) as c:
        run_id = simulate(c)

    async def main() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            body = {"source": {"runId": run_id}}
            return await asyncio.gather(*(c.post("/v1/telemetry/captures", json=body) for _ in range(20)))

    responses = asyncio.run(main())
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * 19
    codes = {r.json()["code"] for r in responses if r.status_code == 409}
    assert codes <= {"capture_exists", "capture_in_progress"}
    directory = settings.runs_root / run_id / "model" / "telemetry"
    manifest = json.loads((directory / "manifest.json").read_text())
    assert len(manifest["files"]) == 7
    for entry in manifest["files"]:
        data = (directory / entry["path"]).read_bytes()
        assert "sha256:" + hashlib.sha256(data).hexdigest() == entry["hash"]
    assert not [p for p in settings.runs_root.rglob(".tmp-*")]


def test_capture_listing_is_empty_without_captures(client: TestClient) -> None:
    assert client.get("/v1/telemetry/captures").json() == {"items": []}


def test_capture_warnings_reach_the_replays_detail_and_state(client: TestClient, settings: Settings) -> None:
    simulated_run(settings.runs_root, "nan", nan_served_at=1)
    generated = client.post("/v1/telemetry/captures", json={"source": {"runId": "nan"}}).json()["capture"]
    expected = [
        {
            "code": "nan_detected",
            "message": f"Detected NaN/∞ at bin 1 for {node}:Served.",
            "severity": "warning",
            "nodeId": node,
        }
        for node in ("Checkout", "RefundQueue")
    ]
    assert generated["warnings"] == expected
    source = client.get("/v1/runs/nan").json()
    assert source["telemetry"]["warningCount"] == 2
    # the fixture's template is not in the catalogue, so the replay is built from the stored model
    model = (settings.runs_root / "nan" / "model" / "model.yaml").read_text()
    built = build_bundle(
        settings.runs_root / "nan" / "model" / "telemetry",
        model,
        runs_root=settings.runs_root,
        run_id="replay",
        allowed_roots=settings.sandbox_roots,
    )
    assert built.run.run_id == "replay"
    assert client.get("/v1/runs/replay").json()["warnings"] == expected
    at_bin = {
        b: {
            n["id"]: n["telemetry"]["warnings"]
            for n in client.get("/v1/runs/replay/state", params={"binIndex": b}).json()["nodes"]
        }
        for b in (0, 1)
    }
    invalid = {
        node: {
            "code": "telemetry_series_invalid",
            "message": "Telemetry mode detected invalid values in served.",
            "severity": "warning",
            "nodeId": node,
            "bins": None,
        }
        for node in ("Checkout", "RefundQueue")
    }
    assert at_bin[0] == {node: [warning] for node, warning in invalid.items()}
    assert at_bin[1] == {w["nodeId"]: [invalid[w["nodeId"]], {**w, "bins": [1]}] for w in expected}
    window = client.get("/v1/runs/replay/state_window", params={"startBin": 1, "endBin": 3}).json()
    assert [n["telemetry"]["warnings"][1:] for n in window["nodes"]] == [[{**w, "bins": [1]}] for w in expected]
    later = client.get("/v1/runs/replay/state_window", params={"startBin": 2, "endBin": 3}).json()
    assert [n["telemetry"]["warnings"][1:] for n in later["nodes"]] == [[], []]


@pytest.mark.parametrize(
    "output",
    [
        {"directory": "{runs}/victim"},
        {"directory": "{runs}/victim/series"},
        {"directory": "../victim/model"},
        {"directory": "{runs}"},
        {"directory": "{runs}/fresh"},
        {"directory": "{telemetry}"},
        {"directory": "."},
        {"directory": ".locks"},
        {"directory": "keys/.hidden"},
    ],
)
def test_capture_targets_that_overwrite_would_destroy_are_refused(
    client: TestClient, settings: Settings, output: dict[str, str]
) -> None:
    source = simulate(client)
    victim = client.post(
        "/v1/runs", json={"templateId": "http-service", "mode": "simulation", "options": {"runId": "victim"}}
    )
    assert victim.status_code == 201
    before = sorted(str(p.relative_to(settings.runs_root)) for p in (settings.runs_root / "victim").rglob("*"))
    directory = output["directory"].format(runs=settings.runs_root, telemetry=settings.telemetry_root)
    response = capture(client, source, directory=directory, overwrite=True)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_output")
    assert str(settings.runs_root.resolve()) not in response.json()["error"].replace(directory, "")
    after = sorted(str(p.relative_to(settings.runs_root)) for p in (settings.runs_root / "victim").rglob("*"))
    assert after == before
    assert client.get("/v1/runs/victim").status_code == 200


def test_capture_directories_of_their_own_are_accepted(client: TestClient, settings: Settings) -> None:
    source = simulate(client)
    for directory in ("mine", str(settings.telemetry_root / "abs" / "dir")):
        response = capture(client, source, directory=directory)
        assert response.status_code == 200, response.text
    assert (settings.telemetry_root / "mine" / "manifest.json").is_file()
    assert (settings.telemetry_root / "abs" / "dir" / "manifest.json").is_file()
    listed = {i["captureDirectory"] for i in client.get("/v1/telemetry/captures").json()["items"]}
    assert {"mine", "abs/dir"} <= listed
