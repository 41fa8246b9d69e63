"""The real ASGI app on a temporary data directory, driven through httpx (Starlette's TestClient)."""

from __future__ import annotations

import io
import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from tests.api.factories import logging_kept

with warnings.catch_warnings():  # Starlette asks for httpx2; the httpx-based client is what we test with
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from flowtime.logs import JsonLinesFormatter, get_logger
from flowtime.runs import RunService, Settings
from flowtime.server import create_app
from flowtime.sim import Catalogue, load_catalogue


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.resolve(data_dir=tmp_path / "data", env={})


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    """Loaded once: a catalogue is immutable, and loading it validates every shipped template."""
    return load_catalogue()


@pytest.fixture
def app(settings: Settings, catalogue: Catalogue) -> FastAPI:
    ready = settings.ensure_roots()
    return create_app(ready, service=RunService(ready, catalogue=catalogue))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


class LogLines:
    """The ``flowtime`` logger's output as the JSON lines an operator reads (``api.md`` §10)."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def events(self, event_id: int | None = None) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.stream.getvalue().splitlines()]
        return [e for e in lines if event_id is None or e["eventId"] == event_id]

    def one(self, event_id: int) -> dict[str, Any]:
        found = self.events(event_id)
        assert len(found) == 1, (event_id, found)
        return found[0]


@pytest.fixture
def logs() -> Iterator[LogLines]:
    """Every event at any level, formatted by the product's formatter; the logger is restored afterwards."""
    captured = LogLines()
    handler = logging.StreamHandler(captured.stream)
    handler.setFormatter(JsonLinesFormatter())
    with logging_kept():
        get_logger().addHandler(handler)
        get_logger().setLevel(logging.DEBUG)
        yield captured
