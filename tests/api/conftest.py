"""The real ASGI app on a temporary data directory, driven through httpx (Starlette's TestClient)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

with warnings.catch_warnings():  # Starlette asks for httpx2; the httpx-based client is what we test with
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

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
