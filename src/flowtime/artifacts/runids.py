"""Run ids (``artifacts.md`` §14): explicit ids validated, deterministic ids from the scenario hash."""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from flowtime.artifacts.timestamps import compact_utc
from flowtime.errors import InvalidInput

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
DETERMINISTIC_PREFIX = "run_deterministic_"


def is_valid_run_id(value: object) -> bool:
    return isinstance(value, str) and RUN_ID_PATTERN.fullmatch(value) is not None


def validate_run_id(value: str) -> str:
    """Return ``value`` when it is a legal run id, else raise ``invalid_run_id``.

    The pattern keeps ids usable as one directory name everywhere: no separators, no leading dot.
    """
    if not is_valid_run_id(value):
        raise InvalidInput(f"runId '{value}' is invalid.", code="invalid_run_id", location="runId")
    return value


def deterministic_run_id(scenario_hash: str) -> str:
    """``run_deterministic_`` + the first 8 hex digits of the scenario hash."""
    return DETERMINISTIC_PREFIX + scenario_hash.removeprefix("sha256:")[:8]


def random_run_id(now: datetime) -> str:
    """``run_<yyyyMMddTHHmmssZ>_<8 hex>``, the suffix from a cryptographic RNG."""
    return f"run_{compact_utc(now)}_{secrets.token_hex(4)}"
