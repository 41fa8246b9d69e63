"""Run ids (§14): validation, deterministic and random forms."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from flowtime.artifacts import deterministic_run_id, is_valid_run_id, random_run_id, validate_run_id
from flowtime.errors import InvalidInput


@pytest.mark.parametrize("value", ["a", "run_1", "A.b-c_d", "9" * 128, "run_deterministic_93753120"])
def test_valid_ids(value: str) -> None:
    assert validate_run_id(value) == value
    assert is_valid_run_id(value)


@pytest.mark.parametrize(
    "value", ["", ".hidden", "-x", "_x", "a/b", "a\\b", "..", "a b", "9" * 129, "é", "a\n", "run:1"]
)
def test_invalid_ids(value: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_run_id(value)
    assert caught.value.code == "invalid_run_id"
    assert caught.value.message == f"runId '{value}' is invalid."
    assert not is_valid_run_id(value)


def test_non_string_is_not_a_run_id() -> None:
    assert not is_valid_run_id(None)


def test_deterministic_id_takes_eight_hex_digits() -> None:
    assert deterministic_run_id("sha256:93753120601ba5cb") == "run_deterministic_93753120"


def test_random_id_uses_utc_time_and_eight_hex_digits() -> None:
    moment = datetime(2025, 11, 21, 10, 45, 1, tzinfo=timezone(timedelta(hours=1)))
    first, second = random_run_id(moment), random_run_id(moment)
    assert re.fullmatch(r"run_20251121T094501Z_[0-9a-f]{8}", first)
    assert first != second
    assert random_run_id(datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)).startswith("run_20250102T030405Z_")
