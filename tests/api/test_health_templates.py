"""Health and template endpoints, including the /api/v1 aliases."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from flowtime.runs import Settings

TEMPLATE_PREFIXES = ["/v1/templates", "/api/v1/templates"]


def test_healthz_is_ok(client: TestClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert response.headers["content-type"] == "application/json; charset=utf-8"


def test_service_health_reports_capabilities_without_paths(client: TestClient, settings: object) -> None:
    body = client.get("/v1/healthz").json()
    assert list(body) == [
        "serviceName",
        "apiVersion",
        "build",
        "capabilities",
        "status",
        "startTime",
        "uptimeSeconds",
        "health",
    ]
    assert body["status"] == "healthy" and body["health"]["status"] == "healthy"
    assert body["capabilities"]["limits"] == {
        "maxBins": 1000000,
        "maxBinSize": 1000,
        "stateWindowMaxBins": 500,
        "runsPageSizeMax": 200,
    }
    assert body["health"]["details"] == {
        "runsRootWritable": True,
        "telemetryRootWritable": True,
        "templateCount": 8,
    }
    assert body["startTime"].endswith("Z") and len(body["startTime"]) == 27
    assert "/" not in str(body["health"])


@pytest.mark.parametrize("prefix", TEMPLATE_PREFIXES)
def test_template_list_is_sorted_summaries(client: TestClient, prefix: str) -> None:
    body = client.get(prefix).json()
    ids = [t["id"] for t in body]
    assert ids == sorted(ids) and "http-service" in ids
    http = next(t for t in body if t["id"] == "http-service")
    assert list(http) == [
        "id",
        "title",
        "description",
        "category",
        "tags",
        "captureKey",
        "version",
        "stochastic",
        "parameterCount",
    ]
    assert http["category"] == "general"
    assert client.get(prefix, params={"category": "GENERAL"}).json() == body
    assert client.get(prefix, params={"category": "other"}).json() == []


@pytest.mark.parametrize("prefix", TEMPLATE_PREFIXES)
def test_categories_and_schema(client: TestClient, prefix: str) -> None:
    assert client.get(f"{prefix}/categories").json() == {"categories": ["general"]}
    response = client.get(f"{prefix}/schema")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/schema+json")
    assert response.json()["title"] == "FlowTime Template"


@pytest.mark.parametrize("prefix", TEMPLATE_PREFIXES)
def test_template_detail_has_typed_parameters(client: TestClient, prefix: str) -> None:
    body = client.get(f"{prefix}/http-service").json()
    params = {p["name"]: p for p in body["parameters"]}
    assert params["bins"]["defaultValue"] == 8 and params["bins"]["type"] == "integer"
    assert params["requestPattern"]["arrayOf"] in ("int", "double")
    assert isinstance(params["requestPattern"]["defaultValue"], list)


@pytest.mark.parametrize("prefix", TEMPLATE_PREFIXES)
def test_unknown_template_is_404(client: TestClient, prefix: str) -> None:
    response = client.get(f"{prefix}/nope")
    assert response.status_code == 404
    assert response.json() == {"error": "Template 'nope' not found", "code": "template_not_found"}
    response = client.post(f"{prefix}/nope/generate", json={})
    assert response.status_code == 404
    assert response.json() == {"error": "Template not found: nope", "code": "template_not_found"}


def test_generate_with_defaults_and_empty_body(client: TestClient) -> None:
    for kwargs in ({"json": {}}, {"content": b""}):
        response = client.post("/v1/templates/http-service/generate", **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 200
        body = response.json()
        assert list(body) == ["model", "provenance", "metadata", "warnings"]
        assert body["metadata"]["mode"] == "simulation"
        assert body["provenance"]["templateId"] == "http-service"


def test_generate_mode_override_and_invalid_mode(client: TestClient) -> None:
    body = client.post("/v1/templates/http-service/generate?mode=Telemetry&embed_provenance=true", json={}).json()
    assert body["metadata"]["mode"] == "telemetry"
    response = client.post("/v1/templates/http-service/generate?mode=bogus", json={})
    assert response.status_code == 400
    assert response.json() == {
        "error": "Invalid mode 'bogus'. Expected 'simulation' or 'telemetry'.",
        "code": "invalid_mode",
    }


def test_generate_collects_every_parameter_problem(client: TestClient) -> None:
    response = client.post("/v1/templates/http-service/generate", json={"bins": "x", "nope": 1})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "parameter_invalid"
    assert len(body["errors"]) == 2
    assert body["error"] == "; ".join(e["message"] for e in body["errors"])


def test_generate_rejects_non_object_and_non_json_bodies(client: TestClient) -> None:
    response = client.post("/v1/templates/http-service/generate", json=[1, 2])
    assert (response.status_code, response.json()["code"]) == (400, "invalid_request")
    response = client.post("/v1/templates/http-service/generate", content=b"{nope")
    assert response.json() == {"error": "Request body is not valid JSON.", "code": "invalid_json"}


def test_health_is_degraded_when_a_root_is_gone(client: TestClient, settings: Settings) -> None:
    settings.telemetry_root.rmdir()
    response = client.get("/v1/healthz")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["health"]["status"]) == ("degraded", "degraded")
    assert body["health"]["details"]["telemetryRootWritable"] is False
    assert body["health"]["details"]["runsRootWritable"] is True
