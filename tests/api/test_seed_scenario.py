"""TT-M-03.17 manual verification as one test: simulate → generate telemetry → replay → 409 → overwrite."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_explicit_generation_then_replay_matches_the_source_run(client: TestClient) -> None:
    # 1. a simulation run: telemetry unavailable
    created = client.post(
        "/v1/runs",
        json={"templateId": "http-service", "mode": "simulation", "options": {"deterministicRunId": True}},
    )
    assert created.status_code == 201
    run_id = created.json()["metadata"]["runId"]
    detail = client.get(f"/v1/runs/{run_id}").json()
    assert detail["telemetry"] == {
        "available": False,
        "generatedAtUtc": None,
        "warningCount": 0,
        "sourceRunId": None,
    }

    # 2. generate telemetry: available, with the timestamp the 200 reported
    generated = client.post("/v1/telemetry/captures", json={"source": {"type": "run", "runId": run_id}})
    assert generated.status_code == 200
    capture = generated.json()["capture"]
    assert (capture["generated"], capture["alreadyExists"], capture["sourceRunId"]) == (True, False, run_id)
    assert capture["captureKey"] is None
    stamp = capture["generatedAtUtc"]
    assert stamp.endswith("Z") and len(stamp) == 27
    summary = client.get(f"/v1/runs/{run_id}").json()["telemetry"]
    assert summary == {"available": True, "generatedAtUtc": stamp, "warningCount": 0, "sourceRunId": run_id}
    listed = next(i for i in client.get("/v1/runs").json()["items"] if i["runId"] == run_id)
    assert listed["telemetry"] == summary
    captures = client.get("/v1/telemetry/captures", params={"sourceRunId": run_id}).json()["items"]
    assert [c["captureDirectory"] for c in captures] == [f"run:{run_id}"]
    assert captures[0]["generatedAtUtc"] == stamp and captures[0]["fileCount"] == 7

    # 3. replay from telemetry: a telemetry run whose state matches the source run
    replay = client.post(
        "/v1/runs",
        json={
            "templateId": "http-service",
            "mode": "telemetry",
            "telemetry": {"captureDirectory": f"run:{run_id}"},
        },
    )
    assert replay.status_code == 201, replay.text
    replay_body = replay.json()
    replay_id = replay_body["metadata"]["runId"]
    assert replay_body["metadata"]["mode"] == "telemetry"
    assert replay_body["metadata"]["telemetrySourcesResolved"] is True
    assert replay_body["canReplay"] is True
    for bin_index in range(8):
        source = client.get(f"/v1/runs/{run_id}/state", params={"binIndex": bin_index}).json()
        replayed = client.get(f"/v1/runs/{replay_id}/state", params={"binIndex": bin_index}).json()
        assert [(n["id"], n["metrics"], n["derived"]) for n in replayed["nodes"]] == [
            (n["id"], n["metrics"], n["derived"]) for n in source["nodes"]
        ]
        assert replayed["warnings"] == []
    sources = client.get(f"/v1/runs/{replay_id}/state", params={"binIndex": 0}).json()["nodes"][0]["telemetry"]
    assert sources["sources"][0].startswith("file://telemetry/")
    window = client.get(f"/v1/runs/{replay_id}/state_window", params={"startBin": 0, "endBin": 7}).json()
    assert window["nodes"][1]["colors"] == ["green"] * 4 + ["red", "yellow", "green", "green"]

    # 4. again without overwrite: 409 with the stored time; with overwrite: 200 and a new time
    again = client.post("/v1/telemetry/captures", json={"source": {"type": "run", "runId": run_id}})
    assert again.status_code == 409
    body = again.json()
    assert body["code"] == "capture_exists"
    assert body["error"] == (
        f"Telemetry bundle already exists (generated at {stamp}). Set output.overwrite to regenerate."
    )
    assert body["capture"] == {
        "generated": False,
        "alreadyExists": True,
        "generatedAtUtc": stamp,
        "sourceRunId": run_id,
        "captureKey": None,
        "warnings": [],
    }
    overwritten = client.post(
        "/v1/telemetry/captures",
        json={"source": {"type": "run", "runId": run_id}, "output": {"overwrite": True}},
    )
    assert overwritten.status_code == 200
    new_stamp = overwritten.json()["capture"]["generatedAtUtc"]
    assert new_stamp >= stamp
    assert client.get(f"/v1/runs/{run_id}").json()["telemetry"]["generatedAtUtc"] == new_stamp
