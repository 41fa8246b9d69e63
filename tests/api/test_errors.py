"""Framework and unexpected errors answer {error, code}; 5xx bodies never leak tracebacks or paths."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from tests.api.conftest import LogLines
from tests.api.factories import write_run_dir

from flowtime.api.deps import MAX_BODY_DEPTH
from flowtime.api.middleware import MAX_BODY_BYTES
from flowtime.errors import FlowTimeError, WriteFailed
from flowtime.runs import RunService, Settings

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


def test_deeply_nested_bodies_are_refused_without_a_crash(client: TestClient) -> None:
    for depth in (MAX_BODY_DEPTH + 1, 5_000):
        body = b'{"templateId": "http-service", "parameters": {"x": ' + b"[" * depth + b"]" * depth + b"}}"
        response = client.post("/v1/runs", content=body)
        assert (response.status_code, response.json()) == (
            400,
            {"error": f"Request body is nested more than {MAX_BODY_DEPTH} levels deep.", "code": "invalid_request"},
        )


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_javascript_constants_are_not_json(client: TestClient, constant: bytes) -> None:
    response = client.post("/v1/templates/http-service/generate", content=b'{"errorRate": ' + constant + b"}")
    assert (response.status_code, response.json()["code"]) == (400, "invalid_json")


def test_chunked_body_over_the_limit_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(17):
            yield b" " * (1024 * 1024)

    response = client.post("/v1/runs", content=chunks())
    assert (response.status_code, response.json()["code"]) == (413, "payload_too_large")


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/v1/runs/..%2F..%2Fetc", 404, "not_found"),
        ("/v1/runs/%2e%2e", 400, "invalid_run_id"),
        ("/v1/runs/%2e%2e/state?binIndex=0", 400, "invalid_run_id"),
        ("/v1/runs/%2e/index", 400, "invalid_run_id"),
        ("/v1/runs/%2Fetc%2Fpasswd", 404, "not_found"),
        ("/v1/runs/a%5C..%5Cb", 400, "invalid_run_id"),
        ("/v1/runs/a%00b/state_window?startBin=0&endBin=1", 400, "invalid_run_id"),
        ("/v1/runs/" + "a" * 129, 400, "invalid_run_id"),
        ("/v1/runs/" + "a" * 5000 + "/series/x", 400, "invalid_run_id"),
        ("/v1/runs/%C3%A9t%C3%A9", 400, "invalid_run_id"),
        ("/v1/runs/%F0%9F%98%80/state?binIndex=0", 400, "invalid_run_id"),
        ("/v1/runs/r/series/%2e%2e", 404, "series_not_found"),
        ("/v1/runs/r/series/..%2F..%2Frun.json", 404, "not_found"),
        ("/v1/runs/r/series/" + "a" * 301, 400, "invalid_series_id"),
        ("/v1/runs/r/series/%E2%82%AC", 400, "invalid_series_id"),
        ("/v1/templates/..%2F..%2Fetc", 404, "not_found"),
        ("/v1/templates/%2e%2e", 404, "template_not_found"),
    ],
)
def test_hostile_ids_are_refused_and_never_read(
    client: TestClient, settings: Settings, path: str, status: int, code: str
) -> None:
    write_run_dir(settings.runs_root, "r")
    response = client.get(path)
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert set(response.json()) == {"error", "code"}
    assert str(settings.data_dir.resolve()) not in response.text


def test_unexpected_exception_is_logged_with_the_request_id_and_traceback(app: FastAPI, logs: LogLines) -> None:
    client = failing_app(app, RuntimeError("secret /etc/shadow detail"))
    response = client.get("/v1/runs")
    failed = logs.one(5002)
    assert (failed["level"], failed["requestId"], failed["code"]) == (
        "error",
        response.headers["x-request-id"],
        "internal_error",
    )
    assert failed["error"] == "RuntimeError: secret /etc/shadow detail"
    assert "Traceback" in failed["traceback"] and "boom" in failed["traceback"]
    assert logs.one(5001)["status"] == 500


def test_coded_5xx_is_logged_with_its_full_message(app: FastAPI, logs: LogLines) -> None:
    client = failing_app(app, WriteFailed("Could not write /data/runs/.tmp-x/run.json"))
    response = client.get("/v1/runs")
    assert "/data/runs" not in response.text
    failed = logs.one(5002)
    assert (failed["code"], failed["error"]) == ("write_failed", "Could not write /data/runs/.tmp-x/run.json")
    assert failed["requestId"] == response.headers["x-request-id"]


def test_4xx_answers_are_not_logged_as_failures(client: TestClient, logs: LogLines) -> None:
    assert client.get("/v1/runs/missing").status_code == 404
    assert logs.events(5002) == []


def test_unreadable_run_is_logged_with_the_file_that_failed(
    client: TestClient, settings: Settings, logs: LogLines
) -> None:
    (write_run_dir(settings.runs_root, "corrupt") / "model" / "metadata.json").write_text("{nope")
    assert client.get("/v1/runs/corrupt").json() == {
        "error": "Run 'corrupt' could not be read.",
        "code": "run_unreadable",
    }
    failed = logs.one(5002)
    assert failed["code"] == "run_unreadable" and "Unreadable: metadata.json" in failed["traceback"]


def test_cross_site_writes_are_refused(client: TestClient) -> None:
    body = {"templateId": "http-service", "mode": "simulation", "options": {"dryRun": True}}
    hostile = client.post("/v1/runs", json=body, headers={"Origin": "https://evil.example"})
    assert (hostile.status_code, hostile.json()) == (
        403,
        {
            "error": "Cross-origin request refused: Origin 'https://evil.example' is not this server.",
            "code": "forbidden_origin",
        },
    )
    assert client.post("/v1/runs", json=body, headers={"Origin": "null"}).status_code == 403
    assert client.post("/v1/runs", json=body, headers={"Origin": "http://testserver"}).status_code == 200
    assert client.post("/v1/runs", json=body).status_code == 200
    assert client.get("/v1/runs", headers={"Origin": "https://evil.example"}).status_code == 200
