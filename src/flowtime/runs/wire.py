"""JSON wire values shared by the API and the CLI: numbers per ``artifacts.md`` §5.2, UTC timestamps."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

_INTEGRAL_LIMIT = 1e16
_INSTANT = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?\s*([Zz]|[+-]\d{2}:?\d{2})?")


def wire_number(value: float) -> int | float | None:
    """NaN and ±∞ become null; integral doubles become integers so ``8.0`` is written ``8``."""
    if not math.isfinite(value):
        return None
    if value.is_integer() and abs(value) < _INTEGRAL_LIMIT:
        return int(value)
    return value


def wire_series(values: npt.NDArray[np.float64]) -> list[int | float | None]:
    """A whole series in wire form under the rule of ``wire_number``, vectorised (state windows are large)."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    integral = finite & (np.abs(values) < _INTEGRAL_LIMIT)
    integral[integral] = values[integral] == np.trunc(values[integral])
    out = values.astype(object)
    out[integral] = values[integral].astype(np.int64).astype(object)
    out[~finite] = None
    return out.tolist()  # type: ignore[no-any-return]


def to_wire(obj: Any) -> Any:
    """A JSON-ready copy of ``obj``: floats normalised, tuples as lists, mapping order kept."""
    if isinstance(obj, float):
        return wire_number(obj)
    if isinstance(obj, Mapping):
        return {str(k): to_wire(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_wire(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return wire_series(obj.astype(np.float64))
    if isinstance(obj, np.floating):
        return wire_number(float(obj))
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def instant_text(moment: datetime) -> str:
    """A recorded instant, ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (``api.md`` §1.1)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def grid_time_text(moment: datetime) -> str:
    """A grid-derived time, ``YYYY-MM-DDTHH:MM:SSZ`` with a fraction only when it is non-zero."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += "." + f"{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_instant(text: object) -> datetime | None:
    """An ISO-8601 UTC instant (``Z`` or an offset, 0–7 fractional digits), or None when unparseable."""
    if not isinstance(text, str):
        return None
    match = _INSTANT.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC)
    except ValueError:
        return None
    if fraction:
        moment += timedelta(microseconds=round(int(fraction.ljust(7, "0")) / 10))
    if zone and zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        moment -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return moment


def bin_times(start: datetime, bin_minutes: int, indexes: Sequence[int]) -> list[str]:
    """Start times of the given bins, in grid-time text."""
    step = timedelta(minutes=bin_minutes)
    return [grid_time_text(start + step * i) for i in indexes]


__all__ = [
    "bin_times",
    "grid_time_text",
    "instant_text",
    "parse_instant",
    "to_wire",
    "wire_number",
    "wire_series",
]
