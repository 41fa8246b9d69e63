"""Fixtures of the template tests: the shipped catalogue and a recorder of the ``flowtime.sim`` log events."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from flowtime.sim import Catalogue, load_catalogue


class EventRecorder(logging.Handler):
    """Keeps the structured fields (``eventId`` …) of every record logged under ``flowtime.sim``."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.events: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "fields", {})
        self.events.append({"event": record.getMessage(), "level": record.levelname.lower(), **fields})

    def with_id(self, event_id: int) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("eventId") == event_id]


@pytest.fixture
def events() -> Iterator[EventRecorder]:
    logger = logging.getLogger("flowtime.sim")
    recorder = EventRecorder()
    previous = logger.level
    logger.addHandler(recorder)
    logger.setLevel(logging.DEBUG)
    try:
        yield recorder
    finally:
        logger.removeHandler(recorder)
        logger.setLevel(previous)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    """The shipped catalogue; read-only, so one load serves a whole test module."""
    return load_catalogue()
