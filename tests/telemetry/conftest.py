"""Fixtures of the telemetry tests: structured log events captured straight from the ``flowtime`` logger."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.events import EventLog, capture_events


@pytest.fixture
def events() -> Iterator[EventLog]:
    with capture_events() as log:
        yield log
