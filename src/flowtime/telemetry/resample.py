"""Resampling timestamped samples onto grid bins: flows summed, levels last or mean (§9.3–§9.4).

Memory is bounded by the grid: every series keeps a few fixed-size arrays of ``bins`` entries, whatever the
number of rows streamed through ``Resampler.add``.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import numpy as np

from flowtime.model.spec import BIN_UNIT_MINUTES, FloatArray
from flowtime.telemetry.manifest import CaptureWarning
from flowtime.telemetry.metrics import METRICS, Metric, parse_metric

LevelAgg = Literal["last", "mean"]
_MICROS_PER_MINUTE = 60_000_000


@dataclass(frozen=True, slots=True)
class ImportGrid:
    """The grid samples are resampled onto; ``node_ids`` (from ``--model``) restricts the accepted nodes."""

    start: datetime
    bins: int
    bin_size: int
    bin_unit: str
    node_ids: tuple[str, ...] | None = None

    @property
    def bin_micros(self) -> int:
        return self.bin_size * BIN_UNIT_MINUTES[self.bin_unit] * _MICROS_PER_MINUTE

    @property
    def start_micros(self) -> int:
        """The grid start in microseconds since the Unix epoch (UTC); bins are computed in integers."""
        return epoch_micros(self.start)


def epoch_micros(moment: datetime) -> int:
    """Microseconds since 1970-01-01T00:00:00Z of an aware datetime, exactly."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class _Series:
    """Per-bin accumulators of one (node, metric) series."""

    level_last: bool
    samples: array  # type: ignore[type-arg]  # any sample (finite or not) seen in the bin: 0/1
    finite: array  # type: ignore[type-arg]  # finite samples aggregated
    nonfinite: array  # type: ignore[type-arg]  # 0/1: a non-finite sample was seen
    total: array  # type: ignore[type-arg]  # sum of finite samples (or the last value for level_last)
    stamp: array  # type: ignore[type-arg]  # timestamp (µs) of the last value, level_last only

    @classmethod
    def create(cls, bins: int, *, level_last: bool) -> _Series:
        return cls(
            level_last,
            array("b", bytes(bins)),
            array("q", bytes(8 * bins)),
            array("b", bytes(bins)),
            array("d", bytes(8 * bins)),
            array("q", [-(2**63)]) * bins if level_last else array("q"),
        )


@dataclass(frozen=True, slots=True)
class ResampledSeries:
    """One series on the grid: the values, which bins had no sample, and which finite bins also saw
    non-finite samples (for ``nan_detected``)."""

    node_id: str
    metric: Metric
    values: FloatArray
    missing: np.ndarray
    nan_seen: np.ndarray


@dataclass
class RowCounts:
    """Row accounting of an import (``import.json`` ``source``)."""

    read: int = 0
    accepted: int = 0
    out_of_window: int = 0
    dropped: int = 0


class _Drop:
    """Rows dropped for one unknown node or metric name; ``count`` grows as they stream by."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


@dataclass
class Resampler:
    """Streams samples into per-series bins.

    ``level_agg`` maps ``queueDepth``/``capacity`` to ``last`` (default) or ``mean``. Rows are offered
    through ``add`` in input order, which decides ties between equal timestamps (the later row wins).
    ``add`` is the import's inner loop: one dictionary lookup on the row's (node, metric text) pair finds
    the series or the reason to drop the row.
    """

    grid: ImportGrid
    level_agg: Mapping[str, LevelAgg] = field(default_factory=dict)
    _series: dict[tuple[str, Metric], _Series] = field(default_factory=dict)
    _targets: dict[tuple[str, str], _Series | _Drop] = field(default_factory=dict)
    _node_order: dict[str, int] = field(default_factory=dict)
    _unknown_nodes: dict[str, _Drop] = field(default_factory=dict)
    _unknown_metrics: dict[str, _Drop] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._start = self.grid.start_micros
        self._bin = self.grid.bin_micros
        self._end = self._start + self._bin * self.grid.bins
        self._known = set(self.grid.node_ids) if self.grid.node_ids is not None else None
        self._accepted = 0
        self._out_of_window = 0

    @property
    def counts(self) -> RowCounts:
        dropped = sum(d.count for d in (*self._unknown_nodes.values(), *self._unknown_metrics.values()))
        read = self._accepted + self._out_of_window + dropped
        return RowCounts(read, self._accepted, self._out_of_window, dropped)

    def add(self, micros: int, node_id: str, metric_text: str, value: float) -> None:
        """Offer one validated sample (``value`` may be NaN/±∞: a non-finite sample)."""
        target = self._targets.get((node_id, metric_text))
        if target is None:
            target = self._target(node_id, metric_text)
        if target.__class__ is _Drop:
            target.count += 1  # type: ignore[union-attr]
            return
        if micros < self._start or micros >= self._end:
            self._out_of_window += 1
            return
        series: _Series = target  # type: ignore[assignment]
        b = (micros - self._start) // self._bin
        self._accepted += 1
        series.samples[b] = 1
        if value - value != 0.0:  # NaN or ±∞, without a function call
            series.nonfinite[b] = 1
        elif series.level_last:
            if micros >= series.stamp[b]:
                series.stamp[b] = micros
                series.total[b] = value
            series.finite[b] = 1
        else:
            series.total[b] += value
            series.finite[b] += 1

    def _target(self, node_id: str, metric_text: str) -> _Series | _Drop:
        """First sight of a (node, metric text) pair: the series it feeds, or the drop it counts toward."""
        target: _Series | _Drop
        metric = parse_metric(metric_text)
        if self._known is not None and node_id not in self._known:
            target = self._unknown_nodes.setdefault(node_id, _Drop())
        elif metric is None:
            target = self._unknown_metrics.setdefault(metric_text, _Drop())
        else:
            existing = self._series.get((node_id, metric))
            target = existing if existing is not None else self._open(node_id, metric)
        self._targets[(node_id, metric_text)] = target
        return target

    def _open(self, node_id: str, metric: Metric) -> _Series:
        self._node_order.setdefault(node_id, len(self._node_order))
        level_last = metric.level and self.level_agg.get(metric.semantic, "last") == "last"
        series = _Series.create(self.grid.bins, level_last=level_last)
        self._series[(node_id, metric)] = series
        return series

    def import_warnings(self) -> list[CaptureWarning]:
        """``rows_out_of_window`` (one), then ``unknown_node`` per node, then ``unknown_metric`` per name."""
        out: list[CaptureWarning] = []
        if self._out_of_window:
            out.append(
                CaptureWarning("rows_out_of_window", f"Dropped {self._out_of_window} rows outside the grid window.")
            )
        for node_id, drop in self._unknown_nodes.items():
            out.append(
                CaptureWarning(
                    "unknown_node",
                    f"Dropped {drop.count} rows for node '{node_id}' not present in the model topology.",
                    node_id=node_id,
                )
            )
        for name, drop in self._unknown_metrics.items():
            out.append(CaptureWarning("unknown_metric", f"Dropped {drop.count} rows with unknown metric '{name}'."))
        return out

    def series(self) -> list[ResampledSeries]:
        """Every series seen, nodes in topology order (``--model``) or first appearance, metrics in order."""
        if self.grid.node_ids is not None:
            rank = {node_id: i for i, node_id in enumerate(self.grid.node_ids)}
        else:
            rank = self._node_order
        metric_rank = {m: i for i, m in enumerate(METRICS)}
        keys = sorted(self._series, key=lambda k: (rank[k[0]], metric_rank[k[1]]))
        return [self._finish(node_id, metric, self._series[(node_id, metric)]) for node_id, metric in keys]

    @staticmethod
    def _finish(node_id: str, metric: Metric, series: _Series) -> ResampledSeries:
        samples = np.frombuffer(series.samples, dtype=np.int8).astype(bool)
        finite = np.frombuffer(series.finite, dtype=np.int64)
        nonfinite = np.frombuffer(series.nonfinite, dtype=np.int8).astype(bool)
        total = np.frombuffer(series.total, dtype=np.float64)
        has_value = finite > 0
        values = np.full(total.size, math.nan)
        if series.level_last:
            values[has_value] = total[has_value]
        else:
            mean = metric.level  # a level metric that is not ``last`` is averaged
            values[has_value] = total[has_value] / finite[has_value] if mean else total[has_value]
        return ResampledSeries(node_id, metric, values, ~samples, has_value & nonfinite)


def level_aggregations(level_agg: Mapping[str, LevelAgg]) -> dict[str, str]:
    """The ``import.json`` ``aggregation`` object: every metric's aggregation in metric order."""
    return {m.semantic: (level_agg.get(m.semantic, "last") if m.level else "sum") for m in METRICS}


def parse_level_agg(items: Sequence[str]) -> dict[str, LevelAgg]:
    """``METRIC=last|mean`` options for the level metrics (``queueDepth``/``queue``, ``capacity``).

    Raises ValueError with a message naming the bad item.
    """
    out: dict[str, LevelAgg] = {}
    for item in items:
        name, sep, how = item.partition("=")
        metric = parse_metric(name)
        how = how.strip().lower()
        if not sep or metric is None or not metric.level or how not in ("last", "mean"):
            raise ValueError(f"Invalid --level-agg '{item}'. Expected queueDepth=last|mean or capacity=last|mean.")
        out[metric.semantic] = how  # type: ignore[assignment]
    return out
