"""Fixtures of the template tests: the shipped catalogue and a recorder of the ``flowtime.sim`` log events."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.events import EventLog, capture_events

from flowtime.sim import Catalogue, load_catalogue


@pytest.fixture
def events() -> Iterator[EventLog]:
    with capture_events("flowtime.sim") as log:
        yield log


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    """The shipped catalogue; read-only, so one load serves a whole test module."""
    return load_catalogue()
