"""The ``/state`` and ``/state_window`` answers (``api.md`` §6.5–§6.6) built from a loaded ``RunState``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from flowtime.artifacts import format_grid_time
from flowtime.errors import Conflict, InvalidInput
from flowtime.logs import get_logger, log_event
from flowtime.model import FloatArray
from flowtime.runs.state import QUEUE_KINDS, NodeState, RunState
from flowtime.runs.wire import bin_times, wire_number, wire_series

_LOG = get_logger("state")


def snapshot(state: RunState, bin_index: int) -> dict[str, Any]:
    """The ``/state`` answer for one bin (``api.md`` §6.5)."""
    if not 0 <= bin_index < state.bins:
        raise InvalidInput(
            f"binIndex must be between 0 and {state.bins - 1}.", code="bin_out_of_range", location="binIndex"
        )
    if state.mode_error is not None:
        raise state.mode_error
    minutes = state.model.grid.bin_minutes
    start = state.start
    begin = start + timedelta(minutes=minutes * bin_index) if start else None
    nodes = [_snapshot_node(n, bin_index) for n in state.nodes]
    warnings = state.top_warnings + _capture_at(state.capture_warnings, bin_index, bin_index, cut=False)
    body = {
        "metadata": state.metadata(),
        "bin": {
            "index": bin_index,
            "startUtc": format_grid_time(begin) if begin else None,
            "endUtc": format_grid_time(begin + timedelta(minutes=minutes)) if begin else None,
            "durationMinutes": minutes,
        },
        "nodes": nodes,
        "warnings": warnings,
    }
    log_event(
        _LOG,
        "StateSnapshotObservability",
        3001,
        message=f"State of run {state.run_id} at bin {bin_index} of {state.bins}",
        runId=state.run_id,
        mode=state.mode,
        binIndex=bin_index,
        totalBins=state.bins,
        nodeCount=len(nodes),
        warningCount=len(warnings) + sum(len(n["telemetry"]["warnings"]) for n in nodes),
    )
    return body


def window(state: RunState, start_bin: int, end_bin: int, *, max_bins: int) -> dict[str, Any]:
    """The ``/state_window`` answer for bins ``start_bin..end_bin`` inclusive (``api.md`` §6.6)."""
    if state.mode_error is not None:
        raise state.mode_error
    last = state.bins - 1
    for name, value in (("startBin", start_bin), ("endBin", end_bin)):
        if not 0 <= value <= last:
            raise InvalidInput(f"{name} must be between 0 and {last}.", code="bin_out_of_range", location=name)
    if end_bin < start_bin:
        raise InvalidInput("endBin must be greater than or equal to startBin.", code="invalid_query")
    count = end_bin - start_bin + 1
    if count > max_bins:
        raise InvalidInput(
            f"Requested bin range {count} exceeds maximum supported window size of {max_bins}.",
            code="window_too_large",
        )
    start = state.start
    if start is None:
        raise Conflict(
            "Run is missing window.startTimeUtc required for time-travel responses.",
            code="start_time_missing",
        )
    body = {
        "metadata": state.metadata(),
        "window": {"startBin": start_bin, "endBin": end_bin, "binCount": count},
        "timestampsUtc": bin_times(start, state.model.grid.bin_minutes, range(start_bin, end_bin + 1)),
        "nodes": [_window_node(n, start_bin, end_bin) for n in state.nodes],
        "warnings": state.top_warnings + _capture_at(state.capture_warnings, start_bin, end_bin, cut=True),
    }
    log_event(
        _LOG,
        "StateWindowObservability",
        3002,
        message=f"State window of run {state.run_id}, bins {start_bin}..{end_bin} of {state.bins}",
        runId=state.run_id,
        mode=state.mode,
        startBin=start_bin,
        endBin=end_bin,
        requestedBins=count,
        totalBins=state.bins,
    )
    return body


def _at(series: FloatArray | None, i: int) -> int | float | None:
    return None if series is None else wire_number(float(series[i]))


def _snapshot_node(n: NodeState, i: int) -> dict[str, Any]:
    s = n.series
    d = n.derived
    return {
        "id": n.node.id,
        "kind": n.kind,
        "metrics": {
            "arrivals": _at(s.get("arrivals"), i),
            "served": _at(s.get("served"), i),
            "errors": _at(s.get("errors"), i),
            "queue": _at(s.get("queueDepth"), i),
            "capacity": _at(s.get("capacity"), i),
            "externalDemand": _at(s.get("externalDemand"), i),
        },
        "derived": {
            "utilization": _at(d.utilization, i),
            "latencyMinutes": _at(d.latency_minutes, i),
            "throughputRatio": _at(d.throughput_ratio, i),
            "color": str(d.color[i]),
        },
        "telemetry": {
            "sources": list(n.sources),
            "warnings": n.warnings() + _capture_at(n.capture_warnings, i, i, cut=False),
        },
    }


def _window_node(n: NodeState, a: int, b: int) -> dict[str, Any]:
    s = n.series
    d = n.derived
    count = b - a + 1

    def cut(values: FloatArray | None) -> list[int | float | None]:
        return [None] * count if values is None else wire_series(values[a : b + 1])

    series: dict[str, Any] = {"arrivals": cut(s.get("arrivals")), "served": cut(s.get("served"))}
    series["errors"] = cut(s.get("errors"))
    if "externalDemand" in s:
        series["externalDemand"] = cut(s["externalDemand"])
    if "queueDepth" in s:
        series["queue"] = cut(s["queueDepth"])
    if "capacity" in s:
        series["capacity"] = cut(s["capacity"])
        series["utilization"] = cut(d.utilization)
    if n.node.kind in QUEUE_KINDS and "queueDepth" in s:
        series["latencyMinutes"] = cut(d.latency_minutes)
    series["throughputRatio"] = cut(d.throughput_ratio)
    return {
        "id": n.node.id,
        "kind": n.kind,
        "series": series,
        "colors": d.color[a : b + 1].tolist(),
        "telemetry": {
            "sources": list(n.sources),
            "warnings": n.warnings() + _capture_at(n.capture_warnings, a, b, cut=True),
        },
    }


def _capture_at(warnings: Sequence[Mapping[str, Any]], a: int, b: int, *, cut: bool) -> list[dict[str, Any]]:
    """Capture warnings touching bins ``a..b`` (null ``bins`` always kept); ``cut`` trims ``bins``."""
    out: list[dict[str, Any]] = []
    for w in warnings:
        bins = w.get("bins")
        if bins is None:
            out.append(dict(w))
            continue
        inside = [x for x in bins if a <= x <= b]
        if inside:
            out.append({**w, "bins": inside} if cut else dict(w))
    return out


__all__ = ["snapshot", "window"]
