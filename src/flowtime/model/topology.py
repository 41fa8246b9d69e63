"""Field rules of ``topology`` (``model.md`` §6.1–§6.3): nodes, semantics, initial conditions and edges."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flowtime.model.limits import Limits
from flowtime.model.parse import Loc, format_path
from flowtime.model.report import Reporter
from flowtime.model.sources import UriUnsupported, is_file_uri, parse_file_uri
from flowtime.model.spec import Edge, Semantics, TopologyKind
from flowtime.model.values import as_number, is_node_id, shorten

QUEUE_KINDS = frozenset({"serviceWithBuffer", "queue", "dlq"})
_KINDS: Mapping[str, TopologyKind] = {
    "service": "service",
    "servicewithbuffer": "serviceWithBuffer",
    "queue": "queue",
    "dlq": "dlq",
}
_TOPOLOGY_KEYS = frozenset({"nodes", "edges", "constraints"})
_NODE_KEYS = frozenset(
    {"id", "kind", "group", "nodeRole", "ui", "semantics", "initialCondition", "metadata"}
    | {"wipLimit", "wipLimitSeries", "wipOverflow", "dispatchSchedule", "constraints"}
)
_WIP_KEYS = ("wipLimit", "wipLimitSeries", "wipOverflow")
_RETRY_KEYS = ("failures", "retryEcho", "retryKernel")
# semantic key -> (Semantics field, alias)
_REFS = {
    "arrivals": ("arrivals", None),
    "served": ("served", None),
    "errors": ("errors", None),
    "externalDemand": ("external_demand", "external_demand"),
    "queueDepth": ("queue_depth", "queue"),
    "capacity": ("capacity", None),
    "failures": ("failures", None),
}
_PHASE2_SEMANTICS = frozenset(
    {"attempts", "exhaustedFailures", "retryBudgetRemaining", "parallelism", "processingTimeMsSum"}
    | {"servedCount", "maxAttempts", "backoffStrategy", "exhaustedPolicy", "aliases", "metadata"}
)
_SEMANTIC_KEYS = (
    frozenset(_REFS) | {"external_demand", "queue", "slaMin", "retryEcho", "retryKernel"} | _PHASE2_SEMANTICS
)
_EDGE_KEYS = frozenset({"id", "from", "source", "to", "target", "weight", "type", "measure", "multiplier", "lag"})


@dataclass(slots=True)
class TopologyNodeSpec:
    """A topology node that passed its own field rules; references are checked against columns later."""

    index: int
    id: str
    kind: TopologyKind
    declared_kind: str
    semantics: Semantics
    group: str | None = None
    node_role: str | None = None
    ui: dict[str, float] = field(default_factory=dict)
    initial_condition: float | None = None
    wip_limit: float | None = None
    wip_limit_series: str | None = None
    wip_overflow: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class TopologySpec:
    nodes: list[TopologyNodeSpec] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


def validate_topology(topology: Any, report: Reporter, limits: Limits) -> TopologySpec | None:
    """Check ``topology``; nodes with an unusable id or semantics are left out of the result."""
    if topology is None:
        return None
    if not isinstance(topology, dict):
        report.error("invalid_type", "topology must be a mapping", ("topology",))
        return None
    for key, value in topology.items():
        if value is not None and key not in _TOPOLOGY_KEYS:
            _unknown_key(report, ("topology", key))
    spec = TopologySpec()
    seen: dict[str, str] = {}  # case-folded id -> id, for every node whose id is usable
    nodes = topology.get("nodes")
    if nodes is not None and not isinstance(nodes, list):
        report.error("invalid_type", "topology.nodes must be a list", ("topology", "nodes"))
    elif nodes:
        for index, item in enumerate(nodes):
            node = _node(index, item, report, limits, seen)
            if node is not None:
                spec.nodes.append(node)
    edges = topology.get("edges")
    if edges is not None and not isinstance(edges, list):
        report.error("invalid_type", "topology.edges must be a list", ("topology", "edges"))
    elif edges:
        ids = set(seen.values())
        for index, item in enumerate(edges):
            edge = _edge(index, item, report, ids)
            if edge is not None:
                spec.edges.append(edge)
    constraints = topology.get("constraints")
    if constraints is not None and (constraints or not isinstance(constraints, dict | list)):
        message = "topology.constraints is not supported yet (planned)"
        report.error("unsupported_feature", message, ("topology", "constraints"), key=True)
    return spec


def _unknown_key(report: Reporter, loc: Loc) -> None:
    report.warning("unknown_key", f"Unknown key '{loc[-1]}' at {format_path(loc)} was ignored", loc)


def _node(index: int, item: Any, report: Reporter, limits: Limits, seen: dict[str, str]) -> TopologyNodeSpec | None:
    loc: Loc = ("topology", "nodes", index)
    if not isinstance(item, dict):
        report.error("invalid_type", f"{format_path(loc)} must be a mapping", loc)
        return None
    node_id = _node_id(loc, item, report, limits, seen)
    shown = node_id if node_id is not None else shorten(report.text((*loc, "id"), item.get("id")) or "")
    kind_text = report.text((*loc, "kind"), item.get("kind"))
    kind: TopologyKind = "service"
    if kind_text is not None:
        known = _KINDS.get(kind_text.strip().lower())
        if known is None:
            message = f"Topology node '{shown}': unknown kind '{kind_text}' is treated as 'service'"
            report.warning("unknown_topology_kind", message, (*loc, "kind"), node_id=node_id)
        else:
            kind = known
    elif item.get("kind") is not None:
        report.error("invalid_type", f"{format_path((*loc, 'kind'))} must be a string", (*loc, "kind"))
    semantics = _semantics(loc, item, report, shown, node_id, kind)
    node = TopologyNodeSpec(index, node_id or "", kind, kind_text or "service", semantics or Semantics())
    node.group = _text(report, (*loc, "group"), item.get("group"))
    node.node_role = _text(report, (*loc, "nodeRole"), item.get("nodeRole"))
    node.ui = _ui(report, (*loc, "ui"), item.get("ui"))
    node.initial_condition = _initial_condition(report, loc, item.get("initialCondition"), shown, node_id)
    metadata = item.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        report.error("invalid_type", f"{format_path((*loc, 'metadata'))} must be a mapping", (*loc, "metadata"))
    node.metadata = metadata if isinstance(metadata, dict) else {}
    _wip(report, loc, item, node, shown, node_id)
    for key in ("dispatchSchedule", "constraints"):
        value = item.get(key)
        if value is not None and (value or not isinstance(value, dict | list)):
            message = f"{key} is not supported yet (planned)"
            report.error("unsupported_feature", message, (*loc, key), node_id=node_id, key=True)
    for key, value in item.items():
        if value is not None and key not in _NODE_KEYS:
            _unknown_key(report, (*loc, key))
    return node if node_id is not None and semantics is not None else None


def _node_id(loc: Loc, item: dict[str, Any], report: Reporter, limits: Limits, seen: dict[str, str]) -> str | None:
    id_loc = (*loc, "id")
    text = report.text(id_loc, item.get("id"))
    if text is None or not text.strip():
        report.error("topology_invalid", "Topology nodes must specify an id", id_loc)
        return None
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in text):
        message = f"Topology node id {shorten(text)!r} must not contain control characters"
        report.error("topology_invalid", message, id_loc)
        return None
    if len(text) > limits.max_topology_id_length:
        message = (
            f"Topology node id '{shorten(text)}' is {len(text)} characters long; "
            f"the maximum is {limits.max_topology_id_length}"
        )
        report.error("topology_invalid", message, id_loc)
        return None
    first = seen.get(text.lower())
    if first is not None:
        message = f"Duplicate topology node id '{text}'"
        if first != text:
            message += f" (ids must differ in more than letter case; '{first}' is declared earlier)"
        report.error("topology_invalid", message, id_loc, node_id=text)
        return None
    seen[text.lower()] = text
    return text


def _semantics(
    loc: Loc, item: dict[str, Any], report: Reporter, shown: str, node_id: str | None, kind: TopologyKind
) -> Semantics | None:
    sem_loc = (*loc, "semantics")
    raw = item.get("semantics")
    if raw is None:
        report.error("topology_invalid", f"Topology node '{shown}' must include semantics", sem_loc, node_id=node_id)
        return None
    if not isinstance(raw, dict):
        report.error("invalid_type", f"{format_path(sem_loc)} must be a mapping", sem_loc, node_id=node_id)
        return None
    queue_kind = kind in QUEUE_KINDS
    if not queue_kind:  # §6.5: retry keys take effect only where a queue can be synthesized
        for key in _RETRY_KEYS:
            if raw.get(key) is not None:
                _unknown_key(report, (*sem_loc, key))
    values: dict[str, Any] = {}
    for key, (attribute, alias) in _REFS.items():
        if queue_kind or key not in _RETRY_KEYS:
            values[attribute] = _ref(report, sem_loc, raw, key, alias, shown, node_id)
    if not _given(raw, "arrivals"):
        message = f"Topology node '{shown}' must specify semantics.arrivals"
        report.error("topology_invalid", message, (*sem_loc, "arrivals"), node_id=node_id)
    if not _given(raw, "served") and not (kind in QUEUE_KINDS and _given(raw, "capacity")):
        message = f"Topology node '{shown}' must specify semantics.served"
        report.error("topology_invalid", message, (*sem_loc, "served"), node_id=node_id)
    if raw.get("slaMin") is not None:
        sla = as_number(raw["slaMin"])
        if sla is None or not math.isfinite(sla) or sla <= 0:
            message = f"Topology node '{shown}': semantics.slaMin must be a number > 0"
            report.error("topology_invalid", message, (*sem_loc, "slaMin"), node_id=node_id)
        else:
            values["sla_min"] = sla
    echo = raw.get("retryEcho") if queue_kind else None
    if echo is not None:
        text = report.text((*sem_loc, "retryEcho"), echo)
        if text is None or not text.strip():
            message = f"Topology node '{shown}': semantics.retryEcho must be a column id"
            report.error("topology_invalid", message, (*sem_loc, "retryEcho"), node_id=node_id)
        else:
            values["retry_echo"] = text
    if queue_kind and raw.get("retryKernel") is not None:
        kernel_loc = (*sem_loc, "retryKernel")
        values["retry_kernel"] = _kernel(report, kernel_loc, raw["retryKernel"], shown, node_id)
    if queue_kind and (raw.get("retryEcho") is None) != (raw.get("retryKernel") is None):
        missing = "retryKernel" if raw.get("retryEcho") is not None else "retryEcho"
        message = (
            f"Topology node '{shown}': semantics.retryEcho and semantics.retryKernel must be given "
            f"together (semantics.{missing} is missing)"
        )
        report.error("topology_invalid", message, (*sem_loc, missing), node_id=node_id)
    for key, value in raw.items():
        if value is not None and key not in _SEMANTIC_KEYS:
            _unknown_key(report, (*sem_loc, key))
    extra = {key: value for key, value in raw.items() if key in _PHASE2_SEMANTICS and value is not None}
    return Semantics(**values, extra=extra)


def _given(raw: dict[str, Any], key: str) -> bool:
    """Whether a semantic is present (maybe malformed, which is reported on its own)."""
    value = raw.get(key)
    return value is not None and not (isinstance(value, str) and not value.strip())


def _ref(
    report: Reporter,
    loc: Loc,
    raw: dict[str, Any],
    key: str,
    alias: str | None,
    shown: str,
    node_id: str | None,
) -> str | None:
    """The series reference under ``key`` (or its alias): a column id or a well-formed ``file:`` URI."""
    texts: list[tuple[str, str]] = []
    for name in (key, alias):
        if name is None or raw.get(name) is None:
            continue
        text = report.text((*loc, name), raw[name])
        if text is None:
            report.error("invalid_type", f"{format_path((*loc, name))} must be a string", (*loc, name), node_id=node_id)
            return None
        if text.strip():
            texts.append((name, text.strip()))
    if not texts:
        return None
    if len(texts) == 2 and texts[0][1] != texts[1][1]:
        message = (
            f"Topology node '{shown}': semantics.{key} '{texts[0][1]}' and semantics.{alias} "
            f"'{texts[1][1]}' differ (give only one of them)"
        )
        report.error("topology_invalid", message, (*loc, alias or key), node_id=node_id)
        return None
    name, text = texts[0]
    if is_file_uri(text):
        try:
            parse_file_uri(text)
        except UriUnsupported as exc:
            report.error(exc.code, exc.message, (*loc, name), node_id=node_id)
            return None
    elif not is_node_id(text):
        message = f"Unsupported URI scheme for '{text}'. Only file: URIs are supported."
        report.error("uri_unsupported", message, (*loc, name), node_id=node_id)
        return None
    return text


def _kernel(report: Reporter, loc: Loc, raw: Any, shown: str, node_id: str | None) -> tuple[float, ...] | None:
    numbers = [as_number(v) for v in raw] if isinstance(raw, list) else None
    if numbers is None or any(n is None or not math.isfinite(n) for n in numbers):
        message = f"Topology node '{shown}': semantics.retryKernel must be a list of finite numbers"
        report.error("topology_invalid", message, loc, node_id=node_id)
        return None
    return tuple(float(n) for n in numbers if n is not None)


def _initial_condition(report: Reporter, loc: Loc, raw: Any, shown: str, node_id: str | None) -> float | None:
    if raw is None:
        return None
    ic_loc = (*loc, "initialCondition", "queueDepth")
    depth = as_number(raw.get("queueDepth")) if isinstance(raw, dict) else None
    if depth is None or not math.isfinite(depth) or depth < 0:
        message = f"Topology node '{shown}': initialCondition.queueDepth must be a finite number >= 0"
        report.error("topology_invalid", message, ic_loc, node_id=node_id)
        return None
    if isinstance(raw, dict):
        for key, value in raw.items():
            if value is not None and key != "queueDepth":
                _unknown_key(report, (*loc, "initialCondition", key))
    return depth


def _wip(
    report: Reporter, loc: Loc, item: dict[str, Any], node: TopologyNodeSpec, shown: str, node_id: str | None
) -> None:
    if node.kind not in QUEUE_KINDS:
        for key in _WIP_KEYS:
            if item.get(key) is not None:
                _unknown_key(report, (*loc, key))
        return
    if item.get("wipLimit") is not None:
        limit = as_number(item["wipLimit"])
        if limit is None or not math.isfinite(limit) or limit < 0:
            message = f"Topology node '{shown}': wipLimit must be a finite number >= 0"
            report.error("topology_invalid", message, (*loc, "wipLimit"), node_id=node_id)
        else:
            node.wip_limit = limit
    node.wip_limit_series = _text(report, (*loc, "wipLimitSeries"), item.get("wipLimitSeries"))
    node.wip_overflow = _text(report, (*loc, "wipOverflow"), item.get("wipOverflow"))


def _edge(index: int, item: Any, report: Reporter, ids: set[str]) -> Edge | None:
    loc: Loc = ("topology", "edges", index)
    if not isinstance(item, dict):
        report.error("invalid_type", f"{format_path(loc)} must be a mapping", loc)
        return None
    for key, value in item.items():
        if value is not None and key not in _EDGE_KEYS:
            _unknown_key(report, (*loc, key))
    ends: list[str | None] = []
    for key, alias in (("from", "source"), ("to", "target")):
        texts = [t for t in (_text(report, (*loc, k), item.get(k)) for k in (key, alias)) if t]
        if len(texts) == 2 and texts[0] != texts[1]:
            message = f"Topology edge {key} '{texts[0]}' and {alias} '{texts[1]}' differ (give only one of them)"
            report.error("topology_invalid", message, (*loc, alias))
            return None
        ends.append(texts[0] if texts else None)
    if ends[0] is None or ends[1] is None:
        report.error("topology_invalid", "Topology edges must specify source and target", loc)
        return None
    resolved = []
    for end, keys in zip(ends, (("from", "source"), ("to", "target")), strict=True):
        assert end is not None
        name = end if end in ids else end.split(":", 1)[0]  # "Node:port" names topology node "Node"
        if name not in ids:
            key = keys[0] if item.get(keys[0]) is not None else keys[1]
            report.error("topology_invalid", f"Topology edge references unknown node '{end}'", (*loc, key))
            return None
        resolved.append(name)
    weight = 1.0
    if item.get("weight") is not None:
        number = as_number(item["weight"])
        if number is None or not math.isfinite(number) or number < 0:
            report.error("topology_invalid", "Topology edge weight must be a finite number >= 0", (*loc, "weight"))
            return None
        weight = number
    return Edge(resolved[0], resolved[1], weight, _text(report, (*loc, "id"), item.get("id")))


def _text(report: Reporter, loc: Loc, value: Any) -> str | None:
    if value is None:
        return None
    text = report.text(loc, value)
    if text is None:
        report.error("invalid_type", f"{format_path(loc)} must be a string", loc)
    return text


def _ui(report: Reporter, loc: Loc, value: Any) -> dict[str, float]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        report.error("invalid_type", f"{format_path(loc)} must be a mapping", loc)
        return {}
    out: dict[str, float] = {}
    for key, raw in value.items():
        number = as_number(raw) if raw is not None else None
        if raw is not None and (number is None or not math.isfinite(number)):
            report.error("invalid_value", f"{format_path((*loc, key))} must be a finite number", (*loc, key))
        elif number is not None:
            out[key] = number
    return out


__all__ = ["QUEUE_KINDS", "TopologyNodeSpec", "TopologySpec", "validate_topology"]
