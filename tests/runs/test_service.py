"""RunService behaviour not visible through one endpoint: demo seeding and the state cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.api.factories import write_run_dir

from flowtime.errors import FlowTimeError, NotFound
from flowtime.runs import RunService, Settings, seed_demo_runs
from flowtime.sim import Catalogue, load_catalogue


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture
def service(tmp_path: Path, catalogue: Catalogue) -> RunService:
    return RunService(Settings.resolve(data_dir=tmp_path / "data", env={}).ensure_roots(), catalogue=catalogue)


def test_demo_creates_simulations_a_capture_and_a_replay_once(service: RunService) -> None:
    created = seed_demo_runs(service)
    assert len(created) == 4
    runs = {i["runId"]: i for i in service.list_runs()["items"]}
    assert set(runs) == set(created)
    assert sorted(i["mode"] for i in runs.values()) == ["simulation"] * 3 + ["telemetry"]
    source = created[0]
    assert runs[source]["telemetry"]["available"] is True
    replay = service.show_run(created[-1])
    assert replay["metadata"]["mode"] == "telemetry" and replay["canReplay"] is True
    assert seed_demo_runs(service) == []


def test_state_cache_follows_file_changes(service: RunService) -> None:
    run_dir = write_run_dir(service.settings.runs_root, "r")
    assert service.state("r", 0)["warnings"] == []
    run = json.loads((run_dir / "run.json").read_text())
    run["warnings"] = ["w: changed"]
    (run_dir / "run.json").write_text(json.dumps(run, indent=4))
    assert [w["message"] for w in service.state("r", 0)["warnings"]] == ["w: changed"]


def test_topology_is_the_state_reading_of_the_run(service: RunService) -> None:
    write_run_dir(service.settings.runs_root, "r")
    topology = service.topology("r")
    assert [(n.id, n.kind) for n in topology.nodes] == [("Checkout", "service"), ("RefundQueue", "queue")]
    assert topology.nodes[1].semantics.sla_min == 10


def test_topology_of_an_unknown_run_is_run_not_found(service: RunService) -> None:
    with pytest.raises(FlowTimeError) as caught:
        service.topology("missing")
    assert caught.value.code == "run_not_found"


def test_demo_replays_the_first_template_that_simulated(service: RunService, monkeypatch: pytest.MonkeyPatch) -> None:
    create = service.create_run

    def refuse_http_service(body: Any) -> Any:
        if body["templateId"] == "http-service":
            raise NotFound("Template not found: http-service", code="template_not_found")
        return create(body)

    monkeypatch.setattr(service, "create_run", refuse_http_service)
    created = seed_demo_runs(service)
    runs = [service.show_run(run_id)["metadata"] for run_id in created]
    assert [(m["templateId"], m["mode"]) for m in runs] == [
        ("order-system", "simulation"),
        ("it-system-microservices", "simulation"),
        ("order-system", "telemetry"),
    ]
