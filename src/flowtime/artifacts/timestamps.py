"""UTC timestamps as bundles write them (six fractional digits, ``Z``) and as readers must accept them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

_PATTERN = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
    r"(?:([Zz])|([+-])([0-9]{2}):?([0-9]{2}))?"
)


def utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime; a naive value is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_utc(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (six fractional digits), e.g. ``2025-11-21T09:45:01.250000Z``."""
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def compact_utc(moment: datetime) -> str:
    """``yyyyMMddTHHmmssZ``, the timestamp part of a random run id."""
    return utc(moment).strftime("%Y%m%dT%H%M%SZ")


def parse_utc(text: object) -> datetime | None:
    """Read a written timestamp leniently: ``Z`` or an offset, 0–7 (up to 9) fractional digits.

    Digits past the sixth are truncated (microsecond resolution). Returns None for anything unparseable,
    so a run with a bad ``createdUtc`` simply sorts last.
    """
    if not isinstance(text, str):
        return None
    match = _PATTERN.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, _z, sign, off_h, off_m = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micros, tzinfo=UTC)
        if sign:
            offset = timedelta(hours=int(off_h), minutes=int(off_m))
            moment = moment.replace(tzinfo=timezone(offset if sign == "+" else -offset))
    except ValueError:
        return None
    return moment.astimezone(UTC)


def format_grid_time(moment: datetime) -> str:
    """A grid-derived time as ``YYYY-MM-DDTHH:MM:SSZ``, with a fraction only when it is non-zero."""
    utc = moment.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += "." + f"{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


def model_start(raw: Mapping[str, Any] | None) -> datetime | None:
    """The grid start of a raw model (``grid.start``/``grid.startTimeUtc``, else ``window.start``) in UTC.

    Values that are not timestamps count as absent; a timestamp without an offset is UTC.
    """
    if not raw:
        return None
    candidates: list[Any] = []
    grid = raw.get("grid")
    if isinstance(grid, Mapping):
        candidates += [grid.get("start"), grid.get("startTimeUtc")]
    window = raw.get("window")
    if isinstance(window, Mapping):
        candidates.append(window.get("start"))
    for value in candidates:
        if isinstance(value, datetime):
            return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        moment = parse_utc(value)
        if moment is not None:
            return moment
    return None


def model_start_text(raw: Mapping[str, Any] | None) -> str | None:
    """``model_start`` as a manifest's ``window.startTimeUtc``; None when the model has no start, so a capture
    still succeeds without a window start."""
    moment = model_start(raw)
    return format_grid_time(moment) if moment is not None else None
