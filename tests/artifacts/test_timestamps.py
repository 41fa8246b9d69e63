"""Written and accepted timestamp forms (§1, §16)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from flowtime.artifacts import format_utc, parse_utc


def test_format_has_six_fractional_digits_and_z() -> None:
    assert format_utc(datetime(2025, 11, 21, 9, 45, 1, 250000, tzinfo=UTC)) == "2025-11-21T09:45:01.250000Z"
    assert format_utc(datetime(2025, 11, 21, 10, 45, tzinfo=timezone(timedelta(hours=1)))) == (
        "2025-11-21T09:45:00.000000Z"
    )
    assert format_utc(datetime(2025, 11, 21, 9, 45)) == "2025-11-21T09:45:00.000000Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-11-21T09:45:01Z", datetime(2025, 11, 21, 9, 45, 1, tzinfo=UTC)),
        ("2025-11-21T09:45:01.25Z", datetime(2025, 11, 21, 9, 45, 1, 250000, tzinfo=UTC)),
        ("2025-11-21T09:45:01.1234567Z", datetime(2025, 11, 21, 9, 45, 1, 123456, tzinfo=UTC)),
        ("2025-11-21T09:45:01.250000+00:00", datetime(2025, 11, 21, 9, 45, 1, 250000, tzinfo=UTC)),
        ("2025-11-21T10:45:01+01:00", datetime(2025, 11, 21, 9, 45, 1, tzinfo=UTC)),
        ("2025-11-21T09:45:01", datetime(2025, 11, 21, 9, 45, 1, tzinfo=UTC)),
    ],
)
def test_parse_accepts_reader_forms(text: str, expected: datetime) -> None:
    assert parse_utc(text) == expected


@pytest.mark.parametrize("text", [None, 5, "", "yesterday", "2025-13-01T00:00:00Z", "2025-11-21", "2025-11-21T09:45Z"])
def test_parse_rejects_everything_else(text: object) -> None:
    assert parse_utc(text) is None
