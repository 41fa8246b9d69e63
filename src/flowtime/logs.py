"""JSON-lines logging with stable event ids, so operators can grep and alert on ``eventId``."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_LOGGER_NAME = "flowtime"


def _line(record: logging.LogRecord) -> dict[str, Any]:
    """The ``api.md`` §10 members in order, then the record's own camelCase fields."""
    fields = dict(getattr(record, "fields", None) or {})
    event = record.getMessage()
    payload: dict[str, Any] = {
        "timestamp": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "eventId": fields.pop("eventId", None),
        "event": event,
        "message": fields.pop("message", event),
    }
    payload.update(fields)
    return payload


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, eventId, event, message, then the fields."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_line(record), ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The same events for a human at a terminal: ``time LEVEL [id] event: message k=v …``."""

    def format(self, record: logging.LogRecord) -> str:
        line = _line(record)
        head = f"{line.pop('timestamp')} {line.pop('level').upper():7} [{line.pop('eventId')}] {line.pop('event')}"
        message = line.pop("message")
        line.pop("logger")
        rest = " ".join(f"{k}={v}" for k, v in line.items())
        return f"{head}: {message}" + (f" {rest}" if rest else "")


def get_logger(name: str = "") -> logging.Logger:
    return logging.getLogger(f"{_LOGGER_NAME}.{name}" if name else _LOGGER_NAME)


def log_event(logger: logging.Logger, event: str, event_id: int, *, level: int = logging.INFO, **fields: Any) -> None:
    """Emit ``event`` with its stable numeric ``event_id`` and structured ``fields`` (never secrets)."""
    logger.log(level, event, extra={"fields": {"eventId": event_id, **fields}})


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at emit time, so a replaced stderr (tests, CLI runners) works."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure_logging(level: int = logging.INFO, stream: Any = None, *, log_format: str = "json") -> None:
    """Route the ``flowtime`` logger to ``stream`` (the current stderr by default); idempotent.

    ``log_format`` is ``json`` (one object per line, for machines) or ``text`` (for a terminal).
    """
    root = logging.getLogger(_LOGGER_NAME)
    for handler in list(root.handlers):
        if getattr(handler, "_flowtime", False):
            root.removeHandler(handler)
    handler: logging.Handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.setFormatter(TextFormatter() if log_format == "text" else JsonLinesFormatter())
    handler._flowtime = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
