"""Declared and synthesized columns, references and initial conditions (``model.md`` §6.3–§6.5, §8.1)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from flowtime.model.expressions import self_shift_lags
from flowtime.model.limits import Limits
from flowtime.model.parse import Loc
from flowtime.model.report import Reporter
from flowtime.model.sources import is_file_uri
from flowtime.model.spec import (
    Column,
    ConstColumn,
    Dependency,
    ExprColumn,
    InflowFromColumn,
    OverflowColumn,
    PmfColumn,
    QueueColumn,
    RetryEchoColumn,
    Topology,
    TopologyNode,
    WipLimitColumn,
)
from flowtime.model.topology import QUEUE_KINDS, TopologyNodeSpec, TopologySpec
from flowtime.model.validate import DeclaredNode, ModelParts
from flowtime.model.values import format_number, is_node_id, snake


@dataclass(slots=True)
class _Synth:
    """A synthesized column before it becomes a spec column; ``inputs`` are same-bin references."""

    id: str
    kind: str  # queue | overflow | wip_limit | inflow_from | retry_echo
    inputs: list[str] = field(default_factory=list)
    queue: _Queue | None = None
    base: str = ""
    overflow: str = ""
    value: float = 0.0
    kernel: tuple[float, ...] = ()


@dataclass(slots=True)
class _Queue:
    """The recurrence inputs of a declared ``serviceWithBuffer`` node or a synthesized queue."""

    id: str
    inflow: str | None
    outflow: str | None
    loss: str | None
    limit: float | None
    limit_series: str | None
    overflow: str | None
    declared: bool
    topology_node: str | None
    s: str  # prefix of its synthesized columns: the node id (declared) or snake(topology id)
    wip_overflow: str | None
    loc: Loc  # the node's location, for problems about its wipOverflow


@dataclass(slots=True)
class Resolved:
    """What ``resolve_columns`` found: the graph input, and everything a valid model is built from."""

    graph: list[tuple[str, tuple[Dependency, ...]]]
    initial_conditions: dict[str, float]
    declared_count: int
    _parts: ModelParts
    _synth: list[_Synth]
    _queues: dict[str, _Queue]
    _deps: dict[str, tuple[Dependency, ...]]
    _queue_columns: dict[int, str]

    def columns(self) -> tuple[Column, ...]:
        """The spec columns in position order; only meaningful when no error was reported."""
        out: list[Column] = []
        for node in self._parts.nodes:
            deps = self._deps[node.id]
            if node.kind == "const":
                assert node.values is not None, node.id
                out.append(ConstColumn(node.id, node.values, node.source, deps))
            elif node.kind == "expr":
                assert node.expr is not None and node.ast is not None, node.id
                out.append(ExprColumn(node.id, node.expr, node.ast, deps))
            elif node.kind == "pmf":
                assert node.pmf is not None, node.id
                out.append(PmfColumn(node.id, *node.pmf, deps))
            elif node.kind == "serviceWithBuffer":
                out.append(self._queue_column(self._queues[node.id], deps))
            else:
                raise ValueError(f"node '{node.id}' has no usable kind; build columns only from a valid model")
        for synth in self._synth:
            deps = self._deps[synth.id]
            if synth.kind == "queue":
                assert synth.queue is not None
                out.append(self._queue_column(synth.queue, deps))
            elif synth.kind == "overflow":
                out.append(OverflowColumn(synth.id, synth.base, deps))
            elif synth.kind == "wip_limit":
                out.append(WipLimitColumn(synth.id, synth.value, deps))
            elif synth.kind == "inflow_from":
                out.append(InflowFromColumn(synth.id, synth.base, synth.overflow, deps))
            else:
                out.append(RetryEchoColumn(synth.id, synth.base, synth.kernel, deps))
        return tuple(out)

    def _queue_column(self, queue: _Queue, deps: tuple[Dependency, ...]) -> QueueColumn:
        return QueueColumn(
            id=queue.id,
            inflow=queue.inflow or "",
            outflow=queue.outflow or "",
            loss=queue.loss,
            initial=self.initial_conditions.get(queue.id, 0.0),
            limit=queue.limit if queue.limit_series is None else None,
            limit_series=queue.limit_series,
            overflow=queue.overflow,
            declared=queue.declared,
            topology_node=queue.topology_node,
            deps=deps,
        )

    def topology(self, spec: TopologySpec) -> Topology:
        nodes = tuple(
            TopologyNode(
                id=node.id,
                kind=node.kind,
                semantics=node.semantics,
                declared_kind=node.declared_kind,
                group=node.group,
                node_role=node.node_role,
                ui=node.ui,
                initial_condition=node.initial_condition,
                wip_limit=node.wip_limit,
                wip_limit_series=node.wip_limit_series,
                wip_overflow=node.wip_overflow,
                queue_column=self._queue_columns.get(node.index),
                metadata=node.metadata,
            )
            for node in spec.nodes
        )
        return Topology(nodes, tuple(spec.edges))


def resolve_columns(parts: ModelParts, report: Reporter, limits: Limits) -> Resolved:
    """Synthesize columns, resolve every reference and initial condition, and report what does not fit."""
    return _Resolver(parts, report, limits).run()


class _Resolver:
    def __init__(self, parts: ModelParts, report: Reporter, limits: Limits) -> None:
        self.parts = parts
        self.report = report
        self.limits = limits
        self.ids: dict[str, str] = {}  # case-folded id -> column id, every column
        self.synth: list[_Synth] = []
        self.queues: dict[str, _Queue] = {}
        self.queue_columns: dict[int, str] = {}  # topology node index -> its queue series
        self.declared = {node.id for node in parts.nodes}
        for node in parts.nodes:
            self.ids[node.id.lower()] = node.id

    def run(self) -> Resolved:
        topology = self.parts.topology.nodes if self.parts.topology is not None else []
        synthesized = {node.index: self._queue_of(node) for node in topology}
        buffers = [self._buffer_queue(node) for node in self.parts.nodes if node.kind == "serviceWithBuffer"]
        self._check_overflow_targets(topology, synthesized, buffers)
        for queue in buffers:  # §8.1: serviceWithBuffer extras first, in declaration order
            self._limit_columns(queue, queue.loc)
        sources: dict[str, list[_Queue]] = {}  # overflow target -> sources in topology, then declaration order
        for source in [synthesized[node.index] for node in topology] + buffers:
            if source is not None and source.overflow is not None and source.wip_overflow is not None:
                sources.setdefault(source.wip_overflow, []).append(source)
        for node in topology:
            queue = synthesized[node.index]
            if queue is not None:
                self._synthesize(node, queue, sources.get(node.id, []))
        deps = self._dependencies()
        initial = self._initial_conditions(topology, synthesized)
        self._self_shift(initial, deps)
        self._check_outputs()
        self._check_size()
        graph = [(node.id, deps[node.id]) for node in self.parts.nodes]
        graph.extend((synth.id, deps[synth.id]) for synth in self.synth)
        columns = set(self.ids.values())
        return Resolved(
            graph=graph,
            initial_conditions={k: v for k, v in initial.items() if k in columns},
            declared_count=len(self.parts.nodes),
            _parts=self.parts,
            _synth=self.synth,
            _queues=self.queues,
            _deps=deps,
            _queue_columns=self.queue_columns,
        )

    # ----------------------------------------------------------------------------------- synthesis

    def _queue_of(self, node: TopologyNodeSpec) -> _Queue | None:
        """The queue this topology node synthesizes (§6.4), or None; records its queue series either way."""
        sem = node.semantics
        depth = sem.queue_depth
        if depth is not None and not is_file_uri(depth):
            self.queue_columns[node.index] = depth  # provisional: checked against the columns below
        if node.kind not in QUEUE_KINDS or (depth is not None and (depth in self.declared or is_file_uri(depth))):
            return None
        outflow = sem.served if sem.served is not None else sem.capacity
        if any(ref is not None and is_file_uri(ref) for ref in (sem.arrivals, outflow, sem.errors)):
            return None  # telemetry-backed: the state service reads the files
        s = snake(node.id)
        queue_id = depth if depth is not None else f"{s}_queue"
        self.queue_columns[node.index] = queue_id
        limited = node.wip_limit is not None or node.wip_limit_series is not None
        return _Queue(
            id=queue_id,
            inflow=sem.arrivals,
            outflow=outflow,
            loss=sem.errors,
            limit=node.wip_limit,
            limit_series=node.wip_limit_series,
            overflow=f"{s}_overflow" if limited else None,
            declared=False,
            topology_node=node.id,
            s=s,
            wip_overflow=node.wip_overflow,
            loc=("topology", "nodes", node.index),
        )

    def _buffer_queue(self, node: DeclaredNode) -> _Queue:
        limited = node.wip_limit is not None or node.wip_limit_series is not None
        queue = _Queue(
            id=node.id,
            inflow=node.inflow,
            outflow=node.outflow,
            loss=node.loss,
            limit=node.wip_limit,
            limit_series=node.wip_limit_series,
            overflow=f"{node.id}_overflow" if limited else None,
            declared=True,
            topology_node=None,
            s=node.id,
            wip_overflow=node.wip_overflow,
            loc=("nodes", node.index),
        )
        self.queues[node.id] = queue
        return queue

    def _check_overflow_targets(
        self,
        topology: list[TopologyNodeSpec],
        synthesized: Mapping[int, _Queue | None],
        buffers: list[_Queue],
    ) -> None:
        """``wipOverflow`` must be ``loss`` or another topology node of a queue kind (§6.5)."""
        kinds = {node.id: node.kind for node in topology}
        sources = [q for q in synthesized.values() if q is not None] + buffers
        for queue in sources:
            target = queue.wip_overflow
            if target is None or target == "loss":
                continue
            if kinds.get(target) not in QUEUE_KINDS or target == queue.topology_node:
                who = f"Topology node '{queue.topology_node}'" if queue.topology_node else f"Node {queue.id}"
                message = (
                    f"{who}: wipOverflow '{target}' must name another topology node of kind "
                    "serviceWithBuffer, queue or dlq, or be 'loss'"
                )
                self.report.error("topology_invalid", message, (*queue.loc, "wipOverflow"), node_id=_who_id(queue))
                queue.wip_overflow = None

    def _limit_columns(self, queue: _Queue, loc: Loc) -> None:
        if queue.limit is not None and queue.limit_series is None:
            self._add(_Synth(f"{queue.s}_wip_limit", "wip_limit", value=queue.limit), queue, loc)
        if queue.overflow is not None:
            self._add(_Synth(queue.overflow, "overflow", [queue.id], base=queue.id), queue, loc)

    def _synthesize(self, node: TopologyNodeSpec, queue: _Queue, overflow_sources: list[_Queue]) -> None:
        loc: Loc = ("topology", "nodes", node.index)
        hint = "set semantics.queueDepth explicitly" if node.semantics.queue_depth is None else None
        depth_loc = (*loc, "semantics", "queueDepth") if node.semantics.queue_depth is not None else loc
        self._add(_Synth(queue.id, "queue", queue=queue), queue, depth_loc, hint=hint)
        self.queues[queue.id] = queue
        self._limit_columns(queue, loc)
        base = queue.inflow
        for source in overflow_sources:
            link = _Synth(
                f"{queue.s}_inflow_from_{source.s}",
                "inflow_from",
                [name for name in (source.overflow, base) if name is not None],
                base=base or "",
                overflow=source.overflow or "",
            )
            if self._add(link, queue, loc):
                base = link.id
        queue.inflow = base
        self._retry_echo(node, queue, loc)

    def _retry_echo(self, node: TopologyNodeSpec, queue: _Queue, loc: Loc) -> None:
        sem = node.semantics
        if sem.retry_echo is None or sem.retry_kernel is None:
            return  # neither given, or a malformed or unpaired one (reported with the semantics)
        sem_loc = (*loc, "semantics")
        failures = sem.failures if sem.failures is not None else sem.errors
        if failures is None or is_file_uri(failures):
            message = (
                f"Topology node '{node.id}': the retry echo needs semantics.failures or semantics.errors "
                "naming a column"
            )
            self.report.error("topology_invalid", message, (*sem_loc, "retryEcho"), node_id=node.id)
            return
        echo = _Synth(sem.retry_echo, "retry_echo", [failures], base=failures, kernel=sem.retry_kernel)
        self._add(echo, queue, (*sem_loc, "retryEcho"))

    def _add(self, synth: _Synth, owner: _Queue, loc: Loc, *, hint: str | None = None) -> bool:
        """Claim ``synth.id``: it must be a valid node id no column uses yet (letter case ignored)."""
        who = f"Topology node '{owner.topology_node}'" if owner.topology_node else f"Node {owner.id}"
        problem = None
        if len(synth.id) > self.limits.max_node_id_length or not is_node_id(synth.id):
            problem = f"the column id '{synth.id}' it creates is not a valid node id"
        elif synth.id.lower() in self.ids:
            problem = f"the column id '{synth.id}' it creates is already used by '{self.ids[synth.id.lower()]}'"
        if problem is not None:
            message = f"{who}: {problem}" + (f" ({hint})" if hint else "")
            code = "topology_invalid" if owner.topology_node else "duplicate_id"
            self.report.error(code, message, loc, node_id=_who_id(owner))
            return False
        self.ids[synth.id.lower()] = synth.id
        self.synth.append(synth)
        return True

    # ---------------------------------------------------------------------------------- references

    def _resolve(self, name: str, loc: Loc, who: str, node_id: str | None, position: int | None = None) -> bool:
        if self.ids.get(name.lower()) == name:
            return True
        message = f"Node {who}: unknown node reference '{name}'"
        near = self.ids.get(name.lower())
        if near is not None:
            message += f" (node ids are case-sensitive; did you mean '{near}'?)"
        self.report.error("unknown_reference", message, loc, node_id=node_id, position=position)
        return False

    def _dependencies(self) -> dict[str, tuple[Dependency, ...]]:
        deps: dict[str, tuple[Dependency, ...]] = {}
        for node in self.parts.nodes:
            loc: Loc = ("nodes", node.index)
            if node.kind == "expr" and node.ast is not None:
                deps[node.id] = self._expr_deps(node, (*loc, "expr"))
            elif node.kind == "serviceWithBuffer":
                refs = [(getattr(node, attr), (*loc, key)) for attr, key in _BUFFER_REFS]
                deps[node.id] = self._same_bin(refs, node.id, node.id)
            else:
                deps[node.id] = ()
        self._topology_refs()
        for synth in self.synth:
            if synth.kind == "queue":
                assert synth.queue is not None
                queue = synth.queue
                deps[synth.id] = self._known((queue.inflow, queue.outflow, queue.loss, queue.limit_series))
            else:
                deps[synth.id] = self._known(synth.inputs)
        return deps

    def _expr_deps(self, node: DeclaredNode, loc: Loc) -> tuple[Dependency, ...]:
        assert node.ast is not None
        lagged: dict[str, bool] = {}
        unknown: set[str] = set()
        for ref, is_lagged in node.refs:
            name = ref.name
            if name in lagged:
                lagged[name] = lagged[name] and is_lagged
            elif name not in unknown:
                if self._resolve(name, loc, node.id, node.id, ref.pos):
                    lagged[name] = is_lagged
                else:
                    unknown.add(name)
        return tuple(Dependency(name, flag) for name, flag in lagged.items())

    def _same_bin(self, refs: list[tuple[str | None, Loc]], who: str, node_id: str) -> tuple[Dependency, ...]:
        found: dict[str, None] = {}
        for name, loc in refs:
            if name is not None and name not in found and self._resolve(name, loc, who, node_id):
                found[name] = None
        return tuple(Dependency(name, False) for name in found)

    def _known(self, names: Iterable[str | None]) -> tuple[Dependency, ...]:
        """Same-bin dependencies on the names that resolve (the others were reported where written)."""
        found = {name: None for name in names if name is not None and self.ids.get(name.lower()) == name}
        return tuple(Dependency(name, False) for name in found)

    def _topology_refs(self) -> None:
        if self.parts.topology is None:
            return
        for node in self.parts.topology.nodes:
            loc: Loc = ("topology", "nodes", node.index)
            sem = node.semantics
            synthesized = node.index in self.queue_columns and self.queue_columns[node.index] in self.queues
            for key, value in (
                ("arrivals", sem.arrivals),
                ("served", sem.served),
                ("errors", sem.errors),
                ("externalDemand", sem.external_demand),
                ("queueDepth", None if synthesized else sem.queue_depth),
                ("capacity", sem.capacity),
                ("failures", sem.failures),
            ):
                if value is not None and not is_file_uri(value):
                    self._resolve(value, (*loc, "semantics", key), node.id, node.id)
            if node.wip_limit_series is not None and synthesized:
                self._resolve(node.wip_limit_series, (*loc, "wipLimitSeries"), node.id, node.id)
            depth = self.queue_columns.get(node.index)
            if depth is not None and self.ids.get(depth.lower()) != depth:
                del self.queue_columns[node.index]

    # -------------------------------------------------------------------------- initial conditions

    def _initial_conditions(
        self, topology: list[TopologyNodeSpec], synthesized: Mapping[int, _Queue | None]
    ) -> dict[str, float]:
        """``N`` has ``q0`` when a topology node with ``initialCondition`` is named ``N``, maps
        ``queueDepth: N``, or synthesizes the queue ``N`` (§6.3)."""
        initial: dict[str, float] = {}
        for node in topology:
            q0 = node.initial_condition
            if q0 is None:
                continue
            queue = synthesized[node.index]
            depth = node.semantics.queue_depth
            names = {node.id}
            if depth is not None and not is_file_uri(depth):
                names.add(depth)
            if queue is not None:
                names.add(queue.id)
            for name in sorted(names):
                if name in initial and initial[name] != q0:
                    message = (
                        f"Topology node '{node.id}': conflicting initial conditions for '{name}' "
                        f"({format_number(initial[name])} and {format_number(q0)})"
                    )
                    loc = ("topology", "nodes", node.index, "initialCondition", "queueDepth")
                    self.report.error("topology_invalid", message, loc, node_id=node.id)
                else:
                    initial[name] = q0
        return initial

    def _self_shift(self, initial: Mapping[str, float], deps: Mapping[str, tuple[Dependency, ...]]) -> None:
        for node in self.parts.nodes:
            if node.ast is None or node.id in initial:
                continue
            refers_to_itself = any(dep.column == node.id for dep in deps[node.id])
            if refers_to_itself and self_shift_lags(node.ast, node.id):
                message = (
                    f"Expression node '{node.id}' uses SHIFT on itself and requires an initial condition "
                    "(topology.nodes[].initialCondition.queueDepth)."
                )
                loc = ("nodes", node.index, "expr")
                self.report.error("self_shift_requires_initial_condition", message, loc, node_id=node.id)

    # --------------------------------------------------------------------------------- model-wide

    def _check_outputs(self) -> None:
        for index, output in self.parts.outputs:
            series = output.series
            if series == "*" or series.endswith("/*"):
                continue
            if self.ids.get(series.lower()) != series:
                message = f"Output references unknown series '{series}'."
                self.report.warning("unknown_output_series", message, ("outputs", index, "series"))

    def _check_size(self) -> None:
        count = len(self.ids)
        if count > self.limits.max_columns:
            message = f"Model has {count} columns; the maximum is {self.limits.max_columns}"
            self.report.error("limit_exceeded", message, None)
        grid = self.parts.grid
        if grid is not None and grid.bins * count > self.limits.max_cells:
            message = (
                f"Model has {grid.bins} bins x {count} columns = {grid.bins * count} values; "
                f"the maximum is {self.limits.max_cells}"
            )
            self.report.error("limit_exceeded", message, None)


_BUFFER_REFS = (
    ("inflow", "inflow"),
    ("outflow", "outflow"),
    ("loss", "loss"),
    ("wip_limit_series", "wipLimitSeries"),
)


def _who_id(queue: _Queue) -> str:
    return queue.topology_node or queue.id


__all__ = ["Resolved", "resolve_columns"]
