"""JSON-lines logging with stable event ids, so operators can grep and alert on ``eventId``."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_LOGGER_NAME = "flowtime"


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line: ts, level, event, eventId and the record's structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            payload.update(fields)
        return json.dumps(payload, ensure_ascii=False, default=str)


def get_logger(name: str = "") -> logging.Logger:
    return logging.getLogger(f"{_LOGGER_NAME}.{name}" if name else _LOGGER_NAME)


def log_event(
    logger: logging.Logger, event: str, event_id: int, *, level: int = logging.INFO, **fields: Any
) -> None:
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


def configure_logging(level: int = logging.INFO, stream: Any = None) -> None:
    """Route the ``flowtime`` logger to ``stream`` (the current stderr by default) as JSON lines; idempotent."""
    root = logging.getLogger(_LOGGER_NAME)
    for handler in list(root.handlers):
        if getattr(handler, "_flowtime", False):
            root.removeHandler(handler)
    handler: logging.Handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.setFormatter(JsonLinesFormatter())
    handler._flowtime = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
