"""Runs in the reference system's layout answer /state and /state_window (api.md §6.2, reference §9.4).

The fixture is the reference's ``run_state_fixture``: no ``series/`` directory, CSVs next to the model,
semantics as relative ``file:`` URIs (one through the ``queue`` alias), ``t,value`` headers on some files,
seven fractional digits in timestamps. The expected numbers are the reference's approved goldens (bin
times use ``Z``, a fixed quirk of api.md §8).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.api.factories import csv_text

from flowtime.runs import Settings

RUN_ID = "run_state_fixture"
MODEL = """\
schemaVersion: 1
mode: telemetry
grid:
  bins: 4
  binSize: 5
  binUnit: minutes
  startTimeUtc: "2025-01-01T00:00:00.0000000Z"
topology:
  nodes:
    - id: OrderService
      kind: service
      semantics:
        arrivals: "file:OrderService_arrivals.csv"
        served: "file:OrderService_served.csv"
        errors: "file:OrderService_errors.csv"
        capacity: "file:OrderService_capacity.csv"
        slaMin: null
    - id: SupportQueue
      kind: queue
      semantics:
        arrivals: "file:SupportQueue_arrivals.csv"
        served: "file:SupportQueue_served.csv"
        errors: "file:SupportQueue_errors.csv"
        queue: "file:SupportQueue_queue.csv"
        slaMin: 5
"""
DATA = {
    "OrderService_arrivals.csv": [10, 10, 10, 10],
    "OrderService_served.csv": [9, 6, 9, 4],
    "OrderService_errors.csv": [1, 1, 1, 1],
    "OrderService_capacity.csv": [12, 7, 9, 4],
    "SupportQueue_arrivals.csv": [9, 7, 9, 5],
    "SupportQueue_served.csv": [9, 6, 9, 4],
    "SupportQueue_errors.csv": [0, 0, 0, 0],
    "SupportQueue_queue.csv": [2, 10, 20, 0],
}


@pytest.fixture
def run(settings: Settings) -> str:
    run_dir = settings.runs_root / RUN_ID
    model_dir = run_dir / "model"
    model_dir.mkdir(parents=True)
    (model_dir / "model.yaml").write_text(MODEL)
    for i, (name, values) in enumerate(DATA.items()):
        (model_dir / name).write_text(csv_text(values, header="t,value" if i % 2 else "bin_index,value"))
    write(
        model_dir / "metadata.json",
        {
            "templateId": "order-system",
            "templateTitle": "Order System Fixture",
            "templateVersion": "1.0.0",
            "schemaVersion": 1,
            "mode": "telemetry",
            "modelHash": f"sha256:{RUN_ID}",
        },
    )
    write(model_dir / "provenance.json", {"source": "fixture"})
    grid = {"bins": 4, "binSize": 5, "binUnit": "minutes", "binMinutes": 5, "timezone": "UTC", "align": "left"}
    write(
        run_dir / "run.json",
        {
            "schemaVersion": 1,
            "runId": RUN_ID,
            "engineVersion": "0.0-test",
            "source": "telemetry",
            "grid": grid,
            "modelHash": f"sha256:{RUN_ID}",
            "scenarioHash": "sha256:test",
            "createdUtc": "2025-01-01T00:00:00.0000000Z",
            "warnings": [],
            "series": [],
        },
    )
    return RUN_ID


def write(path: Path, doc: object) -> None:
    path.write_text(json.dumps(doc, indent=2))


def test_snapshot_matches_the_reference_golden(client: TestClient, settings: Settings, run: str) -> None:
    body = client.get(f"/v1/runs/{run}/state", params={"binIndex": 1}).json()
    model_dir = settings.runs_root.resolve() / run / "model"
    assert body["metadata"] == {
        "runId": run,
        "templateId": "order-system",
        "templateTitle": "Order System Fixture",
        "templateVersion": "1.0.0",
        "mode": "telemetry",
        "provenanceHash": f"sha256:{run}",
        "telemetrySourcesResolved": True,
        "schema": {"id": "time-travel/v1", "version": "1", "hash": f"sha256:{run}"},
        "storage": {
            "modelPath": str(model_dir / "model.yaml"),
            "metadataPath": str(model_dir / "metadata.json"),
            "provenancePath": str(model_dir / "provenance.json"),
        },
    }
    assert body["bin"] == {
        "index": 1,
        "startUtc": "2025-01-01T00:05:00Z",
        "endUtc": "2025-01-01T00:10:00Z",
        "durationMinutes": 5,
    }
    order, support = body["nodes"]
    assert order == {
        "id": "OrderService",
        "kind": "service",
        "metrics": {"arrivals": 10, "served": 6, "errors": 1, "queue": None, "capacity": 7, "externalDemand": None},
        "derived": {
            "utilization": 0.8571428571428571,
            "latencyMinutes": None,
            "throughputRatio": 0.6,
            "color": "yellow",
        },
        "telemetry": {
            "sources": [f"file:OrderService_{m}.csv" for m in ("arrivals", "served", "errors", "capacity")],
            "warnings": [],
        },
    }
    assert support == {
        "id": "SupportQueue",
        "kind": "queue",
        "metrics": {"arrivals": 7, "served": 6, "errors": 0, "queue": 10, "capacity": None, "externalDemand": None},
        "derived": {
            "utilization": None,
            "latencyMinutes": 8.333333333333334,
            "throughputRatio": 0.8571428571428571,
            "color": "red",
        },
        "telemetry": {
            "sources": [f"file:SupportQueue_{m}.csv" for m in ("arrivals", "served", "errors", "queue")],
            "warnings": [],
        },
    }
    assert body["warnings"] == []


def test_window_matches_the_reference_golden(client: TestClient, run: str) -> None:
    body = client.get(f"/v1/runs/{run}/state_window", params={"startBin": 0, "endBin": 3}).json()
    assert body["window"] == {"startBin": 0, "endBin": 3, "binCount": 4}
    assert body["timestampsUtc"] == [f"2025-01-01T00:{m:02d}:00Z" for m in (0, 5, 10, 15)]
    order, support = body["nodes"]
    assert order["series"] == {
        "arrivals": [10, 10, 10, 10],
        "served": [9, 6, 9, 4],
        "errors": [1, 1, 1, 1],
        "capacity": [12, 7, 9, 4],
        "utilization": [0.75, 0.8571428571428571, 1, 1],
        "throughputRatio": [0.9, 0.6, 0.9, 0.4],
    }
    assert support["series"] == {
        "arrivals": [9, 7, 9, 5],
        "served": [9, 6, 9, 4],
        "errors": [0, 0, 0, 0],
        "queue": [2, 10, 20, 0],
        "latencyMinutes": [1.1111111111111112, 8.333333333333334, 11.11111111111111, 0],
        "throughputRatio": [1, 0.8571428571428571, 1, 0.8],
    }
    assert body["warnings"] == []


def test_reference_run_is_listed_and_shown(client: TestClient, run: str) -> None:
    item = client.get("/v1/runs").json()["items"][0]
    assert (item["runId"], item["mode"], item["createdUtc"]) == (run, "telemetry", "2025-01-01T00:00:00.0000000Z")
    detail = client.get(f"/v1/runs/{run}").json()
    assert detail["metadata"]["telemetrySourcesResolved"] is True
    assert detail["run"]["grid"] == {"bins": 4, "binSize": 5, "binUnit": "minutes", "startUtc": "2025-01-01T00:00:00Z"}
    assert client.get(f"/v1/runs/{run}/index").json()["code"] == "artifact_missing"
