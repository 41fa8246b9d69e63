"""POST/GET /v1/runs through the ASGI app: orchestration, listing order, filters, paging, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.factories import write_run_dir

from flowtime.runs import Settings

SIM = {"templateId": "http-service", "mode": "simulation"}


def create(client: TestClient, body: dict[str, Any] | None = None, **options: Any) -> Any:
    payload = dict(body or SIM)
    if options:
        payload["options"] = options
    return client.post("/v1/runs", json=payload)


def test_simulation_run_is_created_with_location_and_full_response(client: TestClient, settings: Settings) -> None:
    response = create(client, {**SIM, "rng": {"kind": "PCG32", "seed": 2024}}, deterministicRunId=True)
    assert response.status_code == 201
    body = response.json()
    run_id = body["metadata"]["runId"]
    assert run_id.startswith("run_deterministic_")
    assert response.headers["location"] == f"/v1/runs/{run_id}"
    assert list(body) == ["isDryRun", "metadata", "plan", "warnings", "canReplay", "telemetry", "run"]
    meta = body["metadata"]
    assert (meta["templateId"], meta["templateTitle"], meta["mode"]) == (
        "http-service",
        "HTTP Service",
        "simulation",
    )
    assert meta["rng"] == {"kind": "pcg32", "seed": 2024}
    assert meta["telemetrySourcesResolved"] is True
    assert meta["storage"]["modelPath"] == str(settings.runs_root.resolve() / run_id / "model" / "model.yaml")
    assert body["canReplay"] is True
    assert body["telemetry"] == {
        "available": False,
        "generatedAtUtc": None,
        "warningCount": 0,
        "sourceRunId": None,
    }
    assert body["run"]["grid"] == {
        "bins": 8,
        "binSize": 15,
        "binUnit": "minutes",
        "startUtc": "2025-01-01T00:00:00Z",
    }
    assert body["run"]["parameters"]["bins"] == 8
    run_dir = settings.runs_root / run_id
    manifest = json.loads((run_dir / "model" / "telemetry" / "telemetry-manifest.json").read_text())
    assert manifest["files"] == [] and manifest["warnings"] == []
    assert manifest["provenance"]["runId"] == run_id
    assert json.loads((run_dir / "manifest.json").read_text())["rng"]["seed"] == 2024
    assert client.get(f"/v1/runs/{run_id}").json() == body


def test_same_request_with_deterministic_id_yields_the_same_run(client: TestClient) -> None:
    first = create(client, deterministicRunId=True).json()["metadata"]["runId"]
    second = create(client, deterministicRunId=True).json()["metadata"]["runId"]
    assert first == second


def test_explicit_run_id_conflicts_unless_overwrite(client: TestClient) -> None:
    assert create(client, runId="my-run").status_code == 201
    response = create(client, runId="my-run")
    assert response.status_code == 409
    assert response.json() == {
        "error": "Run directory 'my-run' already exists. Enable Overwrite to replace it.",
        "code": "run_exists",
    }
    assert create(client, runId="my-run", overwriteExisting=True).status_code == 201


def test_dry_run_returns_the_plan_and_writes_nothing(client: TestClient, settings: Settings) -> None:
    before = sorted(p.name for p in settings.runs_root.iterdir())
    response = create(client, dryRun=True, runId="planned")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("isDryRun", "metadata", "warnings", "canReplay", "telemetry", "run")} == {
        "isDryRun": True,
        "metadata": None,
        "warnings": [],
        "canReplay": False,
        "telemetry": None,
        "run": None,
    }
    plan = body["plan"]
    assert plan["templateId"] == "http-service" and plan["requestedRunId"] == "planned"
    assert plan["rng"] == {"kind": "pcg32", "seed": 123}
    assert plan["files"] == [] and plan["captureDirectory"] is None
    assert sorted(p.name for p in settings.runs_root.iterdir()) == before


@pytest.mark.parametrize(
    ("body", "status", "code", "message"),
    [
        (None, 400, "invalid_request", "Request body is required."),
        ({"mode": "simulation"}, 400, "template_id_required", "templateId is required."),
        ({**SIM, "mode": "replay"}, 400, "invalid_mode", "mode must be 'telemetry' or 'simulation'."),
        ({**SIM, "parameters": [1]}, 400, "invalid_request", "parameters must be an object."),
        (
            {"templateId": "http-service"},
            400,
            "capture_directory_required",
            "telemetry.captureDirectory is required for telemetry runs.",
        ),
        ({**SIM, "rng": {"seed": 1}}, 400, "rng_invalid", "rng.kind must be provided when rng is specified."),
        (
            {**SIM, "rng": {"kind": "mt", "seed": 1}},
            400,
            "rng_invalid",
            "Unsupported rng.kind 'mt'. Expected 'pcg32'.",
        ),
        ({**SIM, "rng": {"kind": "pcg32", "seed": "x"}}, 400, "rng_invalid", "rng.seed must be an integer."),
        (
            {**SIM, "rng": {"kind": "pcg32", "seed": 2**63}},
            400,
            "rng_invalid",
            "rng.seed must be an integer.",
        ),
        ({**SIM, "options": {"runId": "../etc"}}, 400, "invalid_run_id", "runId '../etc' is invalid."),
        ({"templateId": "nope", "mode": "simulation"}, 404, "template_not_found", "Template not found: nope"),
        (
            {"templateId": "http-service", "telemetry": {"captureDirectory": "x", "bindings": {"a": 1}}},
            400,
            "invalid_request",
            "telemetry.bindings must map parameter names to file names.",
        ),
        (
            {"templateId": "http-service", "telemetry": {"captureDirectory": "no/such"}},
            422,
            "capture_not_found",
            "Capture 'no/such' was not found.",
        ),
        (
            {"templateId": "http-service", "telemetry": {"captureDirectory": "/etc"}},
            400,
            "path_outside_roots",
            None,
        ),
    ],
)
def test_create_errors(client: TestClient, body: Any, status: int, code: str, message: str | None) -> None:
    response = client.post("/v1/runs", content=b"" if body is None else json.dumps(body).encode())
    assert (response.status_code, response.json()["code"]) == (status, code)
    if message is not None:
        assert response.json()["error"] == message
    assert "/tmp" not in response.text


def test_parameter_problems_are_all_reported(client: TestClient) -> None:
    response = create(client, {**SIM, "parameters": {"bins": -1, "errorRate": "high", "unknown": None}})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "parameter_invalid"
    assert [e["parameter"] for e in body["errors"]] == ["bins", "errorRate"]


def test_listing_sorts_newest_first_then_by_id(client: TestClient, settings: Settings) -> None:
    root = settings.runs_root
    write_run_dir(root, "b-old", created="2026-03-01T00:00:00Z")
    write_run_dir(root, "a-new", created="2026-03-02T00:00:00.5+00:00")
    write_run_dir(root, "c-new", created="2026-03-02T00:00:00.500000Z")
    write_run_dir(root, "undated", created=None)
    (root / ".tmp-x").mkdir()
    (root / "not-a-run").mkdir()
    body = client.get("/v1/runs").json()
    assert [i["runId"] for i in body["items"]] == ["a-new", "c-new", "b-old", "undated"]
    assert (body["totalCount"], body["page"], body["pageSize"]) == (4, 1, 50)
    item = body["items"][0]
    assert list(item) == [
        "runId",
        "templateId",
        "templateTitle",
        "templateVersion",
        "mode",
        "createdUtc",
        "warningCount",
        "telemetry",
        "grid",
    ]
    assert item["grid"] == {"bins": 4, "binSize": 5, "binUnit": "minutes"}


def test_listing_skips_unreadable_runs_and_the_telemetry_root(client: TestClient, settings: Settings) -> None:
    write_run_dir(settings.runs_root, "good")
    bad = write_run_dir(settings.runs_root, "bad")
    (bad / "run.json").write_text("{broken")
    (settings.telemetry_root / "model").mkdir()
    (settings.telemetry_root / "run.json").write_text("{}")
    assert [i["runId"] for i in client.get("/v1/runs").json()["items"]] == ["good"]


def test_listing_filters_and_pages(client: TestClient, settings: Settings) -> None:
    warn = [{"code": "data_gap", "message": "m", "nodeId": "Checkout", "bins": [1]}]
    from tests.api.factories import telemetry_manifest

    write_run_dir(
        settings.runs_root,
        "t1",
        mode="telemetry",
        created="2026-03-03T00:00:00Z",
        telemetry_manifest=telemetry_manifest(warnings=warn),
    )
    write_run_dir(settings.runs_root, "s1", created="2026-03-02T00:00:00Z")
    write_run_dir(settings.runs_root, "s2", created="2026-03-01T00:00:00Z", metadata={"templateId": "Other"})

    def ids(**query: str) -> list[str]:
        return [i["runId"] for i in client.get("/v1/runs", params=query).json()["items"]]

    assert ids(mode="telemetry") == ["t1"]
    assert ids(mode="Simulation") == ["s1", "s2"]
    assert ids(templateId="other") == ["s2"]
    assert ids(hasWarnings="true") == ["t1"]
    assert ids(hasWarnings="false") == ["s1", "s2"]
    assert ids(page="2", pageSize="2") == ["s2"]
    assert ids(page="9") == []
    assert client.get("/v1/runs", params={"pageSize": "1000"}).json()["pageSize"] == 200


@pytest.mark.parametrize(
    ("query", "code", "message"),
    [
        ({"mode": "x"}, "invalid_mode", "mode must be 'telemetry' or 'simulation'."),
        ({"hasWarnings": "yes"}, "invalid_query", "hasWarnings must be 'true' or 'false'."),
        ({"page": "0"}, "invalid_query", "page must be an integer greater than 0."),
        ({"page": "one"}, "invalid_query", "page must be an integer greater than 0."),
        ({"page": "1_0"}, "invalid_query", "page must be an integer greater than 0."),
        ({"pageSize": "-3"}, "invalid_query", "pageSize must be an integer greater than 0."),
    ],
)
def test_listing_query_errors(client: TestClient, query: dict[str, str], code: str, message: str) -> None:
    response = client.get("/v1/runs", params=query)
    assert (response.status_code, response.json()) == (400, {"error": message, "code": code})


def test_missing_runs_root_lists_nothing(client: TestClient, settings: Settings) -> None:
    settings.runs_root.rename(settings.runs_root.with_name("gone"))
    assert client.get("/v1/runs").json() == {"items": [], "totalCount": 0, "page": 1, "pageSize": 50}


def test_show_errors(client: TestClient, settings: Settings) -> None:
    assert client.get("/v1/runs/.hidden").json() == {
        "error": "runId '.hidden' is invalid.",
        "code": "invalid_run_id",
    }
    traversal = client.get("/v1/runs/..%2F..%2Fetc")
    assert (traversal.status_code, traversal.json()["code"]) == (404, "not_found")
    response = client.get("/v1/runs/missing")
    assert (response.status_code, response.json()) == (
        404,
        {"error": "Run 'missing' not found.", "code": "run_not_found"},
    )
    run_dir = write_run_dir(settings.runs_root, "corrupt")
    (run_dir / "model" / "metadata.json").write_text("{nope")
    response = client.get("/v1/runs/corrupt")
    assert (response.status_code, response.json()) == (
        500,
        {"error": "Run 'corrupt' could not be read.", "code": "run_unreadable"},
    )


def test_show_reports_capture_warnings_and_display_parameters(client: TestClient, settings: Settings) -> None:
    from tests.api.factories import telemetry_manifest

    warn = [
        {
            "code": "nan_detected",
            "message": "Detected NaN/∞ at bin 3 for Checkout:Served.",
            "nodeId": "Checkout",
            "bins": [3],
        }
    ]
    write_run_dir(
        settings.runs_root,
        "r",
        metadata={"parameters": {"src": "file:///srv/data/Checkout_arrivals.csv", "n": 2}},
        run={"warnings": ["w1: something"]},
        telemetry_manifest=telemetry_manifest(warnings=warn),
    )
    body = client.get("/v1/runs/r").json()
    assert body["warnings"] == [
        {"code": "nan_detected", "message": warn[0]["message"], "severity": "warning", "nodeId": "Checkout"}
    ]
    assert body["run"]["parameters"] == {"src": "file://telemetry/Checkout_arrivals.csv", "n": 2}
    assert body["run"]["warnings"] == [
        {"code": "run_warning", "message": "w1: something", "severity": "info", "nodeId": None, "bins": None}
    ]
    assert body["telemetry"]["warningCount"] == 1


def test_parallel_run_creations_all_succeed(settings: Settings, app: Any) -> None:
    import asyncio

    import httpx

    async def main() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return await asyncio.gather(*(c.post("/v1/runs", json=SIM) for _ in range(20)))

    responses = asyncio.run(main())
    assert [r.status_code for r in responses] == [201] * 20
    ids = {r.json()["metadata"]["runId"] for r in responses}
    assert len(ids) == 20
    assert not [p for p in settings.runs_root.iterdir() if p.name.startswith(".tmp-")]
    with TestClient(app) as client:
        assert {i["runId"] for i in client.get("/v1/runs").json()["items"]} == ids
        for run_id in ids:
            state = client.get(f"/v1/runs/{run_id}/state", params={"binIndex": 4})
            assert state.status_code == 200 and state.json()["nodes"][0]["metrics"]["arrivals"] == 165


@pytest.mark.parametrize("run_id", ["telemetry", "plain-dir"])
def test_explicit_run_id_never_replaces_a_directory_that_is_not_a_run(
    client: TestClient, settings: Settings, run_id: str
) -> None:
    (settings.runs_root / "plain-dir").mkdir()
    (settings.telemetry_root / "key").mkdir()
    (settings.telemetry_root / "key" / "manifest.json").write_text("{}")
    body = {**SIM, "options": {"runId": run_id, "overwriteExisting": True}}
    response = client.post("/v1/runs", json=body)
    assert (response.status_code, response.json()) == (
        409,
        {
            "error": f"'{run_id}' names a directory of the RunsRoot that is not a run; choose another run id.",
            "code": "run_exists",
        },
    )
    assert (settings.telemetry_root / "key" / "manifest.json").is_file()
    assert not (settings.runs_root / run_id / "run.json").exists()


def test_runs_never_generate_telemetry(client: TestClient, settings: Settings) -> None:
    source = create(client, deterministicRunId=True).json()["metadata"]["runId"]
    body = {
        "templateId": "http-service",
        "telemetry": {"captureDirectory": f"run:{source}"},
        "options": {"autoCapture": True},
    }
    response = client.post("/v1/runs", json=body)
    assert response.status_code == 422
    assert response.json()["code"] in ("capture_not_found", "capture_manifest_missing")
    assert not (settings.runs_root / source / "model" / "telemetry" / "manifest.json").exists()
    keyed = client.post("/v1/runs", json={**body, "telemetry": {"captureDirectory": "http-service-telemetry"}})
    assert (keyed.status_code, keyed.json()["code"]) == (422, "capture_not_found")
    assert list(settings.telemetry_root.iterdir()) in ([], [settings.telemetry_root / ".locks"])
    assert client.get(f"/v1/runs/{source}").json()["telemetry"]["available"] is False
