"""Models for engine tests: from YAML through ``load_model``, or column by column through the model layer's
expression parser and graph planner (for shapes YAML cannot express directly)."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np

from flowtime.model import load_model
from flowtime.model.expressions import check_expression, references
from flowtime.model.graph import plan
from flowtime.model.spec import (
    Column,
    ConstColumn,
    Dependency,
    ExprColumn,
    Grid,
    InflowFromColumn,
    Model,
    OverflowColumn,
    PmfColumn,
    QueueColumn,
    RetryEchoColumn,
    Rng,
    WipLimitColumn,
)


def _same_bin(*ids: str | None) -> tuple[Dependency, ...]:
    return tuple(Dependency(i, lagged=False) for i in ids if i is not None)


def const(column_id: str, values: Sequence[float]) -> ConstColumn:
    return ConstColumn(column_id, np.asarray(values, dtype=np.float64))


def expr(column_id: str, text: str) -> ExprColumn:
    ast, problems = check_expression(text, column_id, f"nodes.{column_id}.expr")
    assert ast is not None and not problems, problems
    lagged: dict[str, bool] = {}
    for ref in references(ast):
        lagged[ref.name] = lagged.get(ref.name, True) and ref.lagged
    deps = tuple(Dependency(name, lag) for name, lag in lagged.items())
    return ExprColumn(column_id, text, ast, deps)


def pmf(column_id: str, values: Sequence[float], probabilities: Sequence[float]) -> PmfColumn:
    return PmfColumn(column_id, tuple(map(float, values)), tuple(map(float, probabilities)))


def queue(
    column_id: str,
    inflow: str,
    outflow: str,
    loss: str | None = None,
    *,
    initial: float = 0.0,
    limit: float | None = None,
    limit_series: str | None = None,
    overflow: str | None = None,
) -> QueueColumn:
    return QueueColumn(
        column_id,
        inflow,
        outflow,
        loss,
        initial=initial,
        limit=limit,
        limit_series=limit_series,
        overflow=overflow,
        deps=_same_bin(inflow, outflow, loss, limit_series),
    )


def overflow(column_id: str, queue_id: str) -> OverflowColumn:
    return OverflowColumn(column_id, queue_id, deps=_same_bin(queue_id))


def wip_limit(column_id: str, value: float) -> WipLimitColumn:
    return WipLimitColumn(column_id, value)


def inflow_from(column_id: str, base: str, overflow_id: str) -> InflowFromColumn:
    return InflowFromColumn(column_id, base, overflow_id, deps=_same_bin(base, overflow_id))


def retry_echo(column_id: str, failures: str, kernel: Sequence[float]) -> RetryEchoColumn:
    return RetryEchoColumn(column_id, failures, tuple(map(float, kernel)), deps=_same_bin(failures))


def make_model(
    *columns: Column,
    bins: int | None = None,
    initial_conditions: Mapping[str, float] | None = None,
    rng_seed: int | None = None,
    rng: bool = False,
) -> Model:
    """A model of ``columns`` (position order) planned by ``flowtime.model.graph``; ``bins`` defaults to
    the length of the first const column; ``rng`` adds an ``rng`` block with ``rng_seed``."""
    if bins is None:
        bins = next(len(c.values) for c in columns if isinstance(c, ConstColumn))
    components, problems = plan([(c.id, c.deps) for c in columns])
    assert not problems, problems
    return Model(
        grid=Grid(bins=bins, bin_size=1, bin_unit="hours"),
        columns=tuple(columns),
        declared_count=len(columns),
        components=components,
        rng=Rng("pcg32", rng_seed) if rng else None,
        initial_conditions=MappingProxyType(dict(initial_conditions or {})),
    )


def load_yaml(body: str, *, bins: int, bin_size: int = 1, bin_unit: str = "hours") -> Model:
    """Load a model whose ``nodes``/``topology``/``rng`` YAML is ``body``, through ``load_model``."""
    header = f"schemaVersion: 1\ngrid: {{bins: {bins}, binSize: {bin_size}, binUnit: {bin_unit}}}\n"
    return load_model(header + textwrap.dedent(body))


def dag_model_text(n: int, bins: int) -> str:
    """The benchmark family of ``shared/bench/gen_models.py`` (N services with SHIFT feedback through their
    queues, a WIP limit on every 5th, a retry echo on every 10th, fan-in-2 edges) as model text."""

    def wave(values: list[float]) -> str:
        return "[" + ", ".join(repr(v) for v in values) + "]"

    demand = [round(100 + 40 * math.sin(2 * math.pi * t / 288) + 10 * ((t * 7919) % 13) / 13, 2) for t in range(bins)]
    capacity = [round(110 + 20 * math.cos(2 * math.pi * t / 96), 2) for t in range(bins)]
    lines = ["schemaVersion: 1", f"grid: {{bins: {bins}, binSize: 5, binUnit: minutes}}", "nodes:"]
    lines += [f"  - {{id: demand, kind: const, values: {wave(demand)}}}"]
    lines += [f"  - {{id: cap_base, kind: const, values: {wave(capacity)}}}"]
    for i in range(n):
        inflow = "demand" if i == 0 else f"served_{i - 1} * 0.7 + served_{(i - 1) // 2} * 0.3 + demand * 0.05"
        lines += [
            f'  - {{id: cap_{i}, kind: expr, expr: "cap_base * {round(0.9 + 0.4 * ((i * 37) % 11) / 10, 4)}"}}',
            f'  - {{id: in_{i}, kind: expr, expr: "{inflow}"}}',
            f'  - {{id: served_{i}, kind: expr, expr: "MIN(in_{i} + SHIFT(q_{i}, 1), cap_{i})"}}',
            f'  - {{id: err_{i}, kind: expr, expr: "served_{i} * 0.02"}}',
        ]
    lines += ["topology:", "  nodes:"]
    for i in range(n):
        lines += [f"    - id: S{i}", "      kind: serviceWithBuffer"]
        lines += ["      wipLimit: 2000"] if i % 5 == 4 else []
        lines += [
            f"      semantics: {{arrivals: in_{i}, served: served_{i}, errors: err_{i}, capacity: cap_{i},",
            f"                  queueDepth: q_{i}"
            + (f", retryEcho: retry_{i}, retryKernel: [0.0, 0.6, 0.3, 0.1]}}" if i % 10 == 9 else "}"),
        ]
    lines += ["  edges:"]
    for i in range(1, n):
        lines += [f"    - {{source: S{i - 1}, target: S{i}, weight: 0.7}}"]
        if (i - 1) // 2 != i - 1:
            lines += [f"    - {{source: S{(i - 1) // 2}, target: S{i}, weight: 0.3}}"]
    return "\n".join(lines) + "\n"
