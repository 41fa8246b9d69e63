"""Derived per-bin metrics of a topology node: utilization, latency, throughput, colour (``model.md`` §10)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from flowtime.model.spec import FloatArray

Color = Literal["green", "yellow", "red", "gray"]

_QUEUE_KINDS = frozenset({"queue", "dlq"})
_LATENCY_KINDS = frozenset({"queue", "dlq", "servicewithbuffer"})


@dataclass(frozen=True, eq=False)
class NodeMetrics:
    """Whole-series derived metrics; NaN stands for ``null`` (unmapped, unmeasurable or non-finite)."""

    utilization: FloatArray
    latency_minutes: FloatArray
    throughput_ratio: FloatArray
    color: npt.NDArray[np.str_]

    def at(self, index: int) -> dict[str, float | str | None]:
        """The metrics of one bin in wire form (``derived`` of the state snapshot)."""
        return {
            "utilization": _json_number(float(self.utilization[index])),
            "latencyMinutes": _json_number(float(self.latency_minutes[index])),
            "throughputRatio": _json_number(float(self.throughput_ratio[index])),
            "color": str(self.color[index]),
        }

    def to_json(self) -> dict[str, list[float | None] | list[str]]:
        """Every bin in wire form: NaN and ±Infinity become ``None``."""
        return {
            "utilization": json_numbers(self.utilization),
            "latencyMinutes": json_numbers(self.latency_minutes),
            "throughputRatio": json_numbers(self.throughput_ratio),
            "colors": self.color.tolist(),
        }


def _json_number(value: float) -> float | None:
    return value + 0.0 if math.isfinite(value) else None  # + 0.0 turns -0.0 into 0.0


def json_numbers(values: FloatArray) -> list[float | None]:
    """A series as JSON-ready numbers: NaN and ±Infinity become ``None``, ``-0.0`` becomes ``0.0``."""
    return [_json_number(v) for v in values.tolist()]


def _ratio(numerator: FloatArray | None, denominator: FloatArray | None, bins: int) -> FloatArray:
    """``numerator / denominator`` with NaN wherever an input is missing or non-finite or the result is
    non-finite; callers add their own null conditions on the denominator."""
    if numerator is None or denominator is None:
        return np.full(bins, np.nan)
    with np.errstate(all="ignore"):
        result = numerator / denominator
    result[~(np.isfinite(numerator) & np.isfinite(denominator) & np.isfinite(result))] = np.nan
    return result


def _series(values: FloatArray | None, bins: int) -> FloatArray | None:
    if values is None:
        return None
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (bins,):
        raise ValueError(f"metric inputs must all have {bins} bins, got shape {values.shape}")
    return values


def derive_metrics(
    kind: str,
    *,
    arrivals: FloatArray | None,
    served: FloatArray | None,
    capacity: FloatArray | None,
    queue_depth: FloatArray | None,
    sla_min: float | None,
    bin_minutes: float,
    bins: int | None = None,
) -> NodeMetrics:
    """Derived metrics of one topology node from its semantics series (``None`` = unmapped).

    ``kind`` is the topology kind, case-insensitive; unknown kinds count as ``service``. ``bins`` is needed
    only when every input is unmapped.

    Examples
    --------
    >>> m = derive_metrics("service", arrivals=np.array([20.0, 0.0]), served=np.array([18.0, 0.0]),
    ...                    capacity=np.array([24.0, 0.0]), queue_depth=None, sla_min=None, bin_minutes=15)
    >>> m.to_json()
    {'utilization': [0.75, None], 'latencyMinutes': [None, None], 'throughputRatio': [0.9, None], \
'colors': ['yellow', 'gray']}
    """
    given = [s for s in (arrivals, served, capacity, queue_depth) if s is not None]
    if bins is None:
        if not given:
            raise ValueError("bins is required when no semantics series is mapped")
        bins = len(given[0])
    arrivals, served = _series(arrivals, bins), _series(served, bins)
    capacity, queue_depth = _series(capacity, bins), _series(queue_depth, bins)
    kind = kind.lower()

    utilization = _ratio(served, capacity, bins)
    if capacity is not None:
        utilization[~(capacity > 0)] = np.nan

    latency = np.full(bins, np.nan)
    if kind in _LATENCY_KINDS and queue_depth is not None and served is not None:
        latency = _ratio(queue_depth, served, bins)
        latency[~(served > 0)] = np.nan
        latency *= bin_minutes
        latency[~np.isfinite(latency)] = np.nan

    throughput = _ratio(served, arrivals, bins)
    if arrivals is not None:
        throughput[arrivals == 0] = np.nan

    color = np.full(bins, "gray", dtype="<U6")
    if kind in _QUEUE_KINDS:
        if sla_min is not None and math.isfinite(sla_min) and sla_min > 0:
            color[latency <= 1.5 * sla_min] = "yellow"
            color[latency <= sla_min] = "green"
            color[latency > 1.5 * sla_min] = "red"
    else:
        color[utilization >= 0.9] = "red"
        color[utilization < 0.9] = "yellow"
        color[utilization < 0.7] = "green"
    return NodeMetrics(utilization, latency, throughput, color)
