"""/state, /state_window, /index and /series through the ASGI app, with the statuses of api.md §6-§7."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.api.factories import write_run_dir

from flowtime.runs import Settings


@pytest.fixture
def run(settings: Settings) -> str:
    write_run_dir(settings.runs_root, "r")
    return "r"


def test_state_snapshot(client: TestClient, run: str) -> None:
    response = client.get(f"/v1/runs/{run}/state", params={"binIndex": " +2 "})
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["metadata", "bin", "nodes", "warnings"]
    assert body["nodes"][0]["derived"] == {
        "utilization": 0.9,
        "latencyMinutes": None,
        "throughputRatio": 0.9,
        "color": "red",
    }


def test_state_window(client: TestClient, run: str) -> None:
    body = client.get(f"/v1/runs/{run}/state_window", params={"startBin": 0, "endBin": 3}).json()
    assert body["window"] == {"startBin": 0, "endBin": 3, "binCount": 4}
    assert body["nodes"][1]["series"]["queue"] == [0, 36, 54, 80]


@pytest.mark.parametrize(
    ("path", "query", "status", "code", "message"),
    [
        ("state", {}, 400, "invalid_query", "binIndex query parameter is required and must be an integer."),
        (
            "state",
            {"binIndex": "1.5"},
            400,
            "invalid_query",
            "binIndex query parameter is required and must be an integer.",
        ),
        ("state", {"binIndex": "4"}, 400, "bin_out_of_range", "binIndex must be between 0 and 3."),
        ("state", {"binIndex": "9" * 5000}, 400, "bin_out_of_range", "binIndex must be between 0 and 3."),
        ("state", {"binIndex": "-1"}, 400, "bin_out_of_range", "binIndex must be between 0 and 3."),
        (
            "state",
            {"binIndex": "1_0"},
            400,
            "invalid_query",
            "binIndex query parameter is required and must be an integer.",
        ),
        (
            "state",
            {"binIndex": "\u0661"},
            400,
            "invalid_query",
            "binIndex query parameter is required and must be an integer.",
        ),
        (
            "state_window",
            {"endBin": "1"},
            400,
            "invalid_query",
            "startBin query parameter is required and must be an integer.",
        ),
        (
            "state_window",
            {"startBin": "0", "endBin": "x"},
            400,
            "invalid_query",
            "endBin query parameter is required and must be an integer.",
        ),
        (
            "state_window",
            {"startBin": "2", "endBin": "1"},
            400,
            "invalid_query",
            "endBin must be greater than or equal to startBin.",
        ),
    ],
)
def test_state_query_errors(
    client: TestClient, run: str, path: str, query: dict[str, str], status: int, code: str, message: str
) -> None:
    response = client.get(f"/v1/runs/{run}/{path}", params=query)
    assert (response.status_code, response.json()) == (status, {"error": message, "code": code})


def test_window_over_the_configured_maximum_is_413(tmp_path: object, settings: Settings) -> None:
    from dataclasses import replace

    from flowtime.server import create_app

    small = replace(settings, state_window_max=2)
    write_run_dir(small.runs_root, "r")
    with TestClient(create_app(small)) as c:
        response = c.get("/v1/runs/r/state_window", params={"startBin": 0, "endBin": 3})
    assert (response.status_code, response.json()["code"]) == (413, "window_too_large")


def test_topology_missing_is_412_and_mode_failure_is_422(client: TestClient, settings: Settings) -> None:
    model = (
        "schemaVersion: 1\ngrid: {bins: 4, binSize: 5, binUnit: minutes}\n"
        "nodes:\n  - {id: a, kind: const, values: [1, 2, 3, 4]}\n"
    )
    write_run_dir(settings.runs_root, "flat", model=model, series={"a": [1, 2, 3, 4]})
    assert client.get("/v1/runs/flat/state", params={"binIndex": 0}).status_code == 412
    broken = write_run_dir(settings.runs_root, "broken")
    (broken / "series" / "served@SERVED@DEFAULT.csv").unlink()
    response = client.get("/v1/runs/broken/state", params={"binIndex": 0})
    assert (response.status_code, response.json()["code"]) == (422, "mode_validation_failed")


def test_state_of_unknown_or_invalid_run(client: TestClient) -> None:
    assert client.get("/v1/runs/nope/state", params={"binIndex": 0}).status_code == 404
    response = client.get("/v1/runs/.x/state", params={"binIndex": 0})
    assert (response.status_code, response.json()["code"]) == (400, "invalid_run_id")


def test_node_load_failure_is_500_without_paths(client: TestClient, settings: Settings) -> None:
    run_dir = write_run_dir(settings.runs_root, "bad")
    (run_dir / "series" / "served@SERVED@DEFAULT.csv").write_text("bin_index,value\n0,oops\n")
    response = client.get("/v1/runs/bad/state", params={"binIndex": 0})
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "node_load_failed"
    assert str(settings.runs_root) not in body["error"] and "Traceback" not in body["error"]


def test_index_and_series(client: TestClient, run: str) -> None:
    index = client.get(f"/v1/runs/{run}/index").json()
    assert index["series"][0]["id"] == "arrivals@ARRIVALS@DEFAULT"
    response = client.get(f"/v1/runs/{run}/series/arrivals@ARRIVALS@DEFAULT")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.text == "bin_index,value\n0,10\n1,20\n2,30\n3,40\n"
    assert client.get(f"/v1/runs/{run}/series/served").text.startswith("bin_index,value\n0,10\n")


def test_series_errors(client: TestClient, settings: Settings, run: str) -> None:
    response = client.get(f"/v1/runs/{run}/series/nope")
    assert (response.status_code, response.json()) == (
        404,
        {"error": "Series 'nope' not found in run 'r'.", "code": "series_not_found"},
    )
    assert client.get(f"/v1/runs/{run}/series/a%20b").json()["code"] == "invalid_series_id"
    assert client.get("/v1/runs/none/series/x").json()["code"] == "run_not_found"
    (settings.runs_root / "r" / "series" / "index.json").write_text(
        '{"series": [{"id": "evil", "path": "../../secret.csv"}]}'
    )
    (settings.runs_root / "secret.csv").write_text("secret")
    assert client.get(f"/v1/runs/{run}/series/evil").status_code == 404


def test_index_missing_is_artifact_missing(client: TestClient, settings: Settings, run: str) -> None:
    (settings.runs_root / "r" / "series" / "index.json").unlink()
    response = client.get(f"/v1/runs/{run}/index")
    assert (response.status_code, response.json()["code"]) == (404, "artifact_missing")
