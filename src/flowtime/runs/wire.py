"""JSON wire values shared by the API and the CLI: numbers per ``artifacts.md`` §5.2, grid times."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from flowtime.artifacts import format_grid_time

_INTEGRAL_LIMIT = 1e16


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


def bin_times(start: datetime, bin_minutes: int, indexes: Sequence[int]) -> list[str]:
    """Start times of the given bins, in grid-time text."""
    step = timedelta(minutes=bin_minutes)
    return [format_grid_time(start + step * i) for i in indexes]


__all__ = [
    "bin_times",
    "to_wire",
    "wire_number",
    "wire_series",
]
