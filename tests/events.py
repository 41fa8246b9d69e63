"""Structured log events captured straight from a ``flowtime`` logger, for tests that assert on them."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class EventLog(logging.Handler):
    """Collects every record, whatever propagation or level the logger had before."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def ids(self) -> list[int]:
        return [r.fields["eventId"] for r in self.records]  # type: ignore[attr-defined]

    def of(self, event_id: int) -> list[dict[str, Any]]:
        """The events with ``event_id`` as ``{event, level, eventId, …fields}``."""
        return [
            {**r.fields, "event": r.getMessage(), "level": r.levelname.lower()}  # type: ignore[attr-defined]
            for r in self.records
            if r.fields["eventId"] == event_id  # type: ignore[attr-defined]
        ]


@contextmanager
def capture_events(logger_name: str = "flowtime") -> Iterator[EventLog]:
    logger = logging.getLogger(logger_name)
    handler = EventLog()
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
