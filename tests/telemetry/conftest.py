"""Fixtures of the telemetry tests: structured log events captured straight from the ``flowtime`` logger."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from tests.telemetry.factories import EventLog


@pytest.fixture
def events() -> Iterator[EventLog]:
    logger = logging.getLogger("flowtime")
    handler = EventLog()
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
