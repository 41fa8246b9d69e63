"""Derived metrics of one topology node per bin (``model.md`` §10): utilization, latency, ratio, colour."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
QUEUE_KINDS = frozenset({"queue", "dlq", "serviceWithBuffer"})


@dataclass(frozen=True, slots=True)
class Derived:
    """``model.md`` §10 per bin; NaN stands for null."""

    utilization: FloatArray | None
    latency_minutes: FloatArray | None
    throughput_ratio: FloatArray
    color: npt.NDArray[np.str_]


def derive(
    kind: str,
    series: dict[str, FloatArray],
    *,
    sla_min: float | None,
    bin_minutes: int,
    bins: int,
) -> Derived:
    """Derived metrics of one node: a null, NaN or ±∞ input, or a divisor at or below zero, gives null."""
    nan = np.full(bins, np.nan)
    arrivals = series.get("arrivals", nan)
    served = series.get("served", nan)
    capacity = series.get("capacity")
    queue = series.get("queueDepth")
    with np.errstate(divide="ignore", invalid="ignore"):
        utilization = None if capacity is None else np.where(capacity > 0, served / capacity, np.nan)
        latency = None
        if kind in QUEUE_KINDS and queue is not None:
            latency = np.where(served > 0, queue / served * bin_minutes, np.nan)
        ratio = np.where(arrivals != 0, served / arrivals, np.nan)
    utilization, latency, ratio = (
        None if a is None else np.where(np.isfinite(a), a, np.nan) for a in (utilization, latency, ratio)
    )
    color = np.full(bins, "gray", dtype="<U6")
    if kind in ("queue", "dlq"):
        sla = sla_min
        if latency is not None and sla is not None and sla > 0:
            color = np.where(latency <= sla, "green", np.where(latency <= 1.5 * sla, "yellow", "red"))
            color[np.isnan(latency)] = "gray"
    elif utilization is not None:
        color = np.where(utilization < 0.7, "green", np.where(utilization < 0.9, "yellow", "red"))
        color[np.isnan(utilization)] = "gray"
    return Derived(utilization, latency, ratio, color)  # type: ignore[arg-type]


__all__ = ["QUEUE_KINDS", "Derived", "derive"]
