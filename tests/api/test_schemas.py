"""Real answers validate against the pydantic models the OpenAPI document is generated from."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from pydantic import BaseModel, TypeAdapter

from flowtime.api import schemas


def check(model: type[BaseModel] | Any, response: Any, status: int = 200) -> None:
    assert response.status_code == status, response.text
    TypeAdapter(model).validate_python(response.json())


def test_answers_match_the_documented_models(client: TestClient) -> None:
    check(schemas.HealthBasic, client.get("/healthz"))
    check(schemas.Health, client.get("/v1/healthz"))
    check(list[schemas.TemplateSummary], client.get("/v1/templates"))
    check(schemas.TemplateCategories, client.get("/v1/templates/categories"))
    check(schemas.TemplateDetail, client.get("/v1/templates/http-service"))
    check(schemas.GenerationResult, client.post("/v1/templates/http-service/generate", json={}))
    sim = {"templateId": "http-service", "mode": "simulation"}
    created = client.post("/v1/runs", json=sim)
    check(schemas.RunCreateResponse, created, 201)
    run_id = created.json()["metadata"]["runId"]
    check(schemas.RunCreateResponse, client.post("/v1/runs", json={**sim, "options": {"dryRun": True}}))
    check(schemas.RunList, client.get("/v1/runs"))
    check(schemas.RunCreateResponse, client.get(f"/v1/runs/{run_id}"))
    check(schemas.CaptureResponse, client.post("/v1/telemetry/captures", json={"source": {"runId": run_id}}))
    check(schemas.CaptureConflict, client.post("/v1/telemetry/captures", json={"source": {"runId": run_id}}), 409)
    check(schemas.CaptureList, client.get("/v1/telemetry/captures"))
    replay = client.post(
        "/v1/runs", json={"templateId": "http-service", "telemetry": {"captureDirectory": f"run:{run_id}"}}
    )
    check(schemas.RunCreateResponse, replay, 201)
    for run in (run_id, replay.json()["metadata"]["runId"]):
        check(schemas.StateSnapshot, client.get(f"/v1/runs/{run}/state", params={"binIndex": 3}))
        check(schemas.StateWindow, client.get(f"/v1/runs/{run}/state_window", params={"startBin": 0, "endBin": 7}))
        check(schemas.SeriesIndex, client.get(f"/v1/runs/{run}/index"))
    check(schemas.ErrorBody, client.get("/v1/runs/missing"), 404)
    check(schemas.ErrorBody, client.post("/v1/templates/http-service/generate", json={"bins": -1}), 400)


def test_every_route_documents_its_models(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    def schema(path: str, method: str, status: str) -> Any:
        (content,) = paths[path][method]["responses"][status]["content"].values()
        return content["schema"]["$ref"].rsplit("/", 1)[1]

    assert schema("/v1/runs/{runId}/state", "get", "200") == "StateSnapshot"
    for status in ("400", "404", "409", "412", "422", "500"):
        assert schema("/v1/runs/{runId}/state", "get", status) == "ErrorBody"
    assert schema("/v1/runs/{runId}/state_window", "get", "413") == "ErrorBody"
    assert schema("/v1/runs", "post", "201") == "RunCreateResponse"
    assert schema("/v1/telemetry/captures", "post", "409") == "CaptureConflict"


def test_openapi_documents_400_not_fastapis_422_for_malformed_requests(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert "ValidationError" not in document["components"]["schemas"]
    # A malformed query answers 400 with the error body, as the document now says.
    answer = client.get("/v1/runs/any/state", params={"binIndex": "first"})
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_query"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                refs = [c.get("schema", {}).get("$ref", "") for c in response.get("content", {}).values()]
                assert not any(ref.endswith("ValidationError") for ref in refs), (path, method, status)
            if operation.get("parameters") or "requestBody" in operation:
                assert "400" in operation["responses"], (path, method)
