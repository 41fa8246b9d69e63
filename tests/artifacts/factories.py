"""Builders for artifacts tests: small validated-looking models and evaluations without the engine."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from flowtime.errors import Problem
from flowtime.model.expressions import Number
from flowtime.model.spec import (
    Column,
    Component,
    ConstColumn,
    ExprColumn,
    FloatArray,
    Grid,
    Model,
    Output,
    QueueColumn,
    Rng,
    Semantics,
    Topology,
    TopologyNode,
)

EXAMPLE_TEXT = """\
schemaVersion: 1
grid:
  bins: 4
  binSize: 15
  binUnit: minutes
nodes:
  - id: calls
    kind: const
    values: [12, 15, 9, 0]
  - id: handled
    kind: expr
    expr: "MIN(calls, 10)"
  - id: handle_rate
    kind: expr
    expr: "handled / calls"
outputs:
  - series: handled
  - series: handle_rate
"""

EXAMPLE_SERIES = {
    "calls": [12.0, 15.0, 9.0, 0.0],
    "handled": [10.0, 10.0, 9.0, 0.0],
    "handle_rate": [10 / 12, 10 / 15, 1.0, 0.0],
}


@dataclass(frozen=True)
class FakeEvaluation:
    """Stand-in for ``flowtime.engine.Evaluation``: only the members the writer reads."""

    grid: Grid
    order: tuple[str, ...]
    values: FloatArray
    seed: int = 123
    calls: list[str] = field(default_factory=list, compare=False)

    def series(self, column_id: str) -> FloatArray:
        self.calls.append(column_id)
        return self.values[self.order.index(column_id)]


def const(column_id: str, values: Sequence[float] = (0.0,)) -> ConstColumn:
    return ConstColumn(id=column_id, values=np.asarray(values, dtype=np.float64))


def expr(column_id: str, text: str = "0") -> ExprColumn:
    return ExprColumn(id=column_id, expr=text, ast=Number(0.0, 0))


def queue(column_id: str, inflow: str, outflow: str, *, declared: bool = False) -> QueueColumn:
    return QueueColumn(id=column_id, inflow=inflow, outflow=outflow, loss=None, declared=declared)


def topology_node(node_id: str, kind: str = "service", **semantics: Any) -> TopologyNode:
    return TopologyNode(id=node_id, kind=kind, semantics=Semantics(**semantics), declared_kind=kind)  # type: ignore[arg-type]


def make_model(
    *columns: Column,
    synthesized: Iterable[Column] = (),
    bins: int = 4,
    bin_size: int = 15,
    bin_unit: str = "minutes",
    outputs: Iterable[str] = (),
    order: Sequence[str] | None = None,
    topology: Sequence[TopologyNode] | None = None,
    rng_seed: int | None = None,
    with_rng: bool = False,
    mode: str = "simulation",
    metadata: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | None = None,
    warnings: Sequence[Problem] = (),
) -> Model:
    """A model as ``load_model`` would build it; evaluation order = position order unless ``order``."""
    all_columns = (*columns, *synthesized)
    ids = order if order is not None else [c.id for c in all_columns]
    return Model(
        grid=Grid(bins=bins, bin_size=bin_size, bin_unit=bin_unit),
        columns=all_columns,
        declared_count=len(columns),
        components=tuple(Component(members=(i,), feedback=False) for i in ids),
        outputs=tuple(Output(series=s) for s in outputs),
        topology=Topology(nodes=tuple(topology)) if topology is not None else None,
        rng=Rng(kind="pcg32", seed=rng_seed) if (with_rng or rng_seed is not None) else None,
        mode=mode,
        metadata=dict(metadata or {}),
        provenance=provenance,
        warnings=tuple(warnings),
    )


def evaluation_for(
    model: Model, series: Mapping[str, Sequence[float]] | None = None, seed: int = 123
) -> FakeEvaluation:
    """Every column of ``model`` in its evaluation order; unnamed columns get ``t`` (0, 1, 2 …)."""
    series = series or {}
    bins = model.grid.bins
    rows = [series.get(c, np.arange(bins, dtype=np.float64)) for c in model.order]
    values = np.asarray(rows, dtype=np.float64).reshape(len(model.order), bins)
    return FakeEvaluation(grid=model.grid, order=model.order, values=values, seed=seed)


def example_model(**overrides: Any) -> Model:
    """The §17 worked example, as the loader would produce it."""
    return make_model(
        const("calls", EXAMPLE_SERIES["calls"]),
        expr("handled", "MIN(calls, 10)"),
        expr("handle_rate", "handled / calls"),
        outputs=("handled", "handle_rate"),
        **overrides,
    )


def example_evaluation(model: Model | None = None, seed: int = 123) -> FakeEvaluation:
    return evaluation_for(model or example_model(), EXAMPLE_SERIES, seed=seed)


def write_text(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path
