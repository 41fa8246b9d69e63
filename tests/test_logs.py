"""JSON-lines logs: one object per line with a stable eventId and structured fields."""

from __future__ import annotations

import io
import json

from flowtime.logs import configure_logging, get_logger, log_event


def test_event_is_one_json_line_with_id_and_fields() -> None:
    stream = io.StringIO()
    configure_logging(stream=stream)
    log_event(get_logger("capture"), "capture.completed", 2003, runId="run_1", files=3)
    line = stream.getvalue().strip()
    record = json.loads(line)
    assert record["event"] == "capture.completed"
    assert record["eventId"] == 2003
    assert record["runId"] == "run_1" and record["files"] == 3
    assert record["level"] == "info"
    assert record["timestamp"].endswith("Z")
    assert record["logger"] == "flowtime.capture"
    assert record["message"] == "capture.completed"
    assert list(record)[:6] == ["timestamp", "level", "logger", "eventId", "event", "message"]
    assert "\n" not in line


def test_configure_is_idempotent() -> None:
    stream = io.StringIO()
    configure_logging(stream=io.StringIO())
    configure_logging(stream=stream)
    log_event(get_logger(), "x", 1)
    assert len(stream.getvalue().strip().splitlines()) == 1


def test_default_handler_follows_a_replaced_stderr(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    configure_logging()
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stderr", first)
    log_event(get_logger(), "one", 1)
    first.close()
    monkeypatch.setattr("sys.stderr", second)
    log_event(get_logger(), "two", 2)
    assert json.loads(second.getvalue())["event"] == "two"


def test_fixed_message_and_text_format() -> None:
    stream = io.StringIO()
    configure_logging(stream=stream, log_format="text")
    log_event(get_logger("state"), "StateTelemetrySourceMissing", 3003, message="Telemetry source missing", runId="r")
    line = stream.getvalue().strip()
    assert "[3003] StateTelemetrySourceMissing: Telemetry source missing runId=r" in line
