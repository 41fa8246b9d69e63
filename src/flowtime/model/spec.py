"""Frozen dataclasses of a validated model: what the engine, artifacts and state queries read.

A *column* is anything that yields one series: the declared nodes (positions ``0..n-1``) followed by the
synthesized columns (queues, overflow, WIP limits, inflow chains, retry echoes) — ``model.md`` §8.1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from flowtime.errors import Problem
from flowtime.model.expressions import Expr

FloatArray = npt.NDArray[np.float64]

BIN_UNIT_MINUTES: Mapping[str, int] = MappingProxyType({"minutes": 1, "hours": 60, "days": 1440, "weeks": 10080})

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Grid:
    """The time grid: ``bins`` left-aligned bins of ``bin_size`` ``bin_unit`` each, starting at ``start`` (UTC)."""

    bins: int
    bin_size: int
    bin_unit: str  # canonical lowercase: minutes | hours | days | weeks
    start: datetime | None = None  # timezone-aware UTC, or None

    @property
    def bin_minutes(self) -> int:
        return self.bin_size * BIN_UNIT_MINUTES[self.bin_unit]


# --------------------------------------------------------------------------------------------- columns


@dataclass(frozen=True, slots=True)
class Dependency:
    """One input of a column: ``lagged`` when every occurrence sits inside ``SHIFT(…, k ≥ 1)``."""

    column: str
    lagged: bool


@dataclass(frozen=True, slots=True)
class ConstColumn:
    """Declared ``const`` node; ``values`` already read (from ``values`` or the ``source`` CSV)."""

    id: str
    values: FloatArray
    source: str | None = None
    deps: tuple[Dependency, ...] = ()


@dataclass(frozen=True, slots=True)
class ExprColumn:
    """Declared ``expr`` node with its parsed expression."""

    id: str
    expr: str
    ast: Expr
    deps: tuple[Dependency, ...] = ()


@dataclass(frozen=True, slots=True)
class PmfColumn:
    """Declared ``pmf`` node; probabilities already normalised (``model.md`` §4.3)."""

    id: str
    values: tuple[float, ...]
    probabilities: tuple[float, ...]
    deps: tuple[Dependency, ...] = ()


@dataclass(frozen=True, slots=True)
class QueueColumn:
    """A queue-depth recurrence (``model.md`` §6.4–§6.5): a declared ``serviceWithBuffer`` node or a
    queue synthesized for a topology node.

    ``inflow`` already names the last inflow-from column when overflow is routed here. ``limit`` is the
    scalar WIP limit, ``limit_series`` a column id (wins). ``overflow`` names the companion overflow column
    computed in the same step, when a limit exists.
    """

    id: str
    inflow: str
    outflow: str
    loss: str | None
    initial: float = 0.0
    limit: float | None = None
    limit_series: str | None = None
    overflow: str | None = None
    declared: bool = False  # True for a serviceWithBuffer node
    topology_node: str | None = None
    deps: tuple[Dependency, ...] = ()


@dataclass(frozen=True, slots=True)
class OverflowColumn:
    """The overflow of ``queue`` per bin; produced by the queue's own recurrence step."""

    id: str
    queue: str
    deps: tuple[Dependency, ...] = ()


@dataclass(frozen=True, slots=True)
class WipLimitColumn:
    """A scalar WIP limit exposed as a constant column (``s_wip_limit``)."""

    id: str
    value: float
    deps: tuple[Dependency, ...] = ()


@dataclass(frozen=True, slots=True)
class InflowFromColumn:
    """``base + overflow`` per bin: one link of an overflow-routing chain (``model.md`` §6.5)."""

    id: str
    base: str
    overflow: str
    deps: tuple[Dependency, ...] = ()


@dataclass(frozen=True, slots=True)
class RetryEchoColumn:
    """``CONV(failures, kernel)`` (``model.md`` §6.5)."""

    id: str
    failures: str
    kernel: tuple[float, ...]
    deps: tuple[Dependency, ...] = ()


Column = (
    ConstColumn
    | ExprColumn
    | PmfColumn
    | QueueColumn
    | OverflowColumn
    | WipLimitColumn
    | InflowFromColumn
    | RetryEchoColumn
)


@dataclass(frozen=True, slots=True)
class Component:
    """One strongly connected component of the dependency graph, members in evaluation order.

    A *feedback group* (``feedback``) has more than one member or a lagged self-edge and must be evaluated
    bin-major (``model.md`` §8.3).
    """

    members: tuple[str, ...]
    feedback: bool


# -------------------------------------------------------------------------------------------- topology


@dataclass(frozen=True, slots=True)
class Semantics:
    """Series references of a topology node: a column id, a ``file:`` URI, or None when unmapped."""

    arrivals: str | None = None
    served: str | None = None
    errors: str | None = None
    external_demand: str | None = None
    queue_depth: str | None = None
    capacity: str | None = None
    sla_min: float | None = None
    failures: str | None = None
    retry_echo: str | None = None
    retry_kernel: tuple[float, ...] | None = None
    extra: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)  # phase-2 keys, preserved

    def refs(self) -> dict[str, str]:
        """The mapped series references by semantic name (``queueDepth`` style keys)."""
        pairs = {
            "arrivals": self.arrivals,
            "served": self.served,
            "errors": self.errors,
            "externalDemand": self.external_demand,
            "queueDepth": self.queue_depth,
            "capacity": self.capacity,
            "failures": self.failures,
        }
        return {k: v for k, v in pairs.items() if v is not None}


TopologyKind = Literal["service", "serviceWithBuffer", "queue", "dlq"]


@dataclass(frozen=True, slots=True)
class TopologyNode:
    """A service-graph node. ``kind`` is canonical; unknown kinds are recorded as ``service``
    (``declared_kind`` keeps the text). ``queue_column`` is the id of its queue series when it has one
    (synthesized or the declared ``queueDepth`` node)."""

    id: str
    kind: TopologyKind
    semantics: Semantics
    declared_kind: str = "service"
    group: str | None = None
    node_role: str | None = None
    ui: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    initial_condition: float | None = None
    wip_limit: float | None = None
    wip_limit_series: str | None = None
    wip_overflow: str | None = None
    queue_column: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    weight: float = 1.0
    id: str | None = None


@dataclass(frozen=True, slots=True)
class Topology:
    nodes: tuple[TopologyNode, ...] = ()
    edges: tuple[Edge, ...] = ()

    def node(self, node_id: str) -> TopologyNode | None:
        return next((n for n in self.nodes if n.id == node_id), None)


# ------------------------------------------------------------------------------------------ the model


@dataclass(frozen=True, slots=True)
class Output:
    """One ``outputs`` entry: a selector (``*``, ``prefix/*`` or an exact id) and an optional capture name."""

    series: str
    as_: str | None = None


@dataclass(frozen=True, slots=True)
class Rng:
    kind: str  # always "pcg32"
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class Model:
    """A validated model plus its evaluation plan. Built only by ``load_model``; never mutated."""

    grid: Grid
    columns: tuple[Column, ...]  # position order: declared nodes, then synthesized columns
    declared_count: int
    components: tuple[Component, ...]  # evaluation order
    outputs: tuple[Output, ...] = ()
    topology: Topology | None = None
    rng: Rng | None = None
    mode: str = "simulation"
    metadata: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    provenance: Mapping[str, Any] | None = None
    initial_conditions: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    warnings: tuple[Problem, ...] = ()
    model_dir: Path | None = None
    raw: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)  # the parsed root mapping

    @property
    def order(self) -> tuple[str, ...]:
        """Column ids in evaluation order (``model.md`` §8.2)."""
        return tuple(m for c in self.components for m in c.members)

    @property
    def declared(self) -> tuple[Column, ...]:
        return self.columns[: self.declared_count]

    def column(self, column_id: str) -> Column:
        for c in self.columns:
            if c.id == column_id:
                return c
        raise KeyError(column_id)

    @property
    def state_columns(self) -> frozenset[str]:
        """Columns whose series are queue depths (``kind: state`` in the run bundle)."""
        ids = {c.id for c in self.columns if isinstance(c, QueueColumn)}
        if self.topology is not None:
            ids.update(n.semantics.queue_depth for n in self.topology.nodes if n.semantics.queue_depth)
        return frozenset(ids)
