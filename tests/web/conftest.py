"""Page tests drive the real app (API + UI) in-process over a temporary data directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from flowtime.runs import Settings
from flowtime.server import create_app


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings.resolve(data_dir=tmp_path / "data", env={})
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def data_dir(client: TestClient) -> Path:
    """The absolute data directory, to check that no page ever shows it."""
    return Path(client.app.state.settings.data_dir)  # type: ignore[attr-defined]


def create_run(client: TestClient, template_id: str = "transportation-basic", **body: object) -> str:
    response = client.post("/v1/runs", json={"templateId": template_id, "mode": "simulation", **body})
    assert response.status_code == 201, response.text
    return str(response.json()["metadata"]["runId"])
