"""Framework and unexpected errors answer {error, code}; 5xx bodies never leak tracebacks or paths."""

from __future__ import annotations

import warnings
from typing import Any

from fastapi import FastAPI

from flowtime.api.middleware import MAX_BODY_BYTES
from flowtime.errors import FlowTimeError, WriteFailed
from flowtime.runs import RunService

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def test_unknown_route_and_wrong_method(client: TestClient) -> None:
    response = client.get("/v1/nothing")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    response = client.delete("/v1/runs")
    assert (response.status_code, response.json()["code"]) == (405, "method_not_allowed")


def test_invalid_json_and_wrong_shapes(client: TestClient) -> None:
    response = client.post("/v1/runs", content=b"{not json")
    assert (response.status_code, response.json()) == (
        400,
        {"error": "Request body is not valid JSON.", "code": "invalid_json"},
    )
    response = client.post("/v1/runs", json=["a"])
    assert (response.status_code, response.json()["code"]) == (400, "invalid_request")
    response = client.post("/v1/telemetry/captures", json={"source": "run"})
    assert response.json()["code"] == "invalid_source"


def test_oversized_body_is_413(client: TestClient) -> None:
    response = client.post("/v1/runs", content=b" " * (MAX_BODY_BYTES + 1))
    assert (response.status_code, response.json()["code"]) == (413, "payload_too_large")


def failing_app(app: FastAPI, error: Exception) -> TestClient:
    service: RunService = app.state.service

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise error

    service.list_runs = boom  # type: ignore[method-assign]
    return TestClient(app, raise_server_exceptions=False)


def test_unexpected_exception_is_a_generic_500(app: FastAPI) -> None:
    client = failing_app(app, RuntimeError("secret /etc/shadow detail"))
    response = client.get("/v1/runs")
    assert response.status_code == 500
    assert response.json() == {"error": "Internal server error.", "code": "internal_error"}
    assert response.headers["x-request-id"]


def test_coded_5xx_messages_with_paths_are_replaced(app: FastAPI) -> None:
    client = failing_app(app, WriteFailed("Could not write /data/runs/.tmp-x/run.json"))
    body = client.get("/v1/runs").json()
    assert body == {"error": "The run could not be written; nothing was changed.", "code": "write_failed"}
    client = failing_app(app, FlowTimeError("Telemetry generation failed for run 'r'.", code="capture_failed"))
    assert client.get("/v1/runs").json()["error"] == "Telemetry generation failed for run 'r'."


def test_openapi_documents_every_route(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    for path in [
        "/healthz",
        "/v1/healthz",
        "/v1/templates",
        "/v1/templates/categories",
        "/v1/templates/schema",
        "/v1/templates/{templateId}",
        "/v1/templates/{templateId}/generate",
        "/api/v1/templates/{templateId}/generate",
        "/v1/runs",
        "/v1/runs/{runId}",
        "/v1/runs/{runId}/state",
        "/v1/runs/{runId}/state_window",
        "/v1/runs/{runId}/index",
        "/v1/runs/{runId}/series/{seriesId}",
        "/v1/telemetry/captures",
    ]:
        assert path in paths, path
    body = paths["/v1/runs"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/RunCreate"}
    assert "templateId" in document["components"]["schemas"]["RunCreate"]["properties"]
    assert "ErrorBody" in document["components"]["schemas"]
