"""The generated model's content: the substituted template reshaped per ``templates.md`` §7.1–§7.2."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowtime.model.values import as_integer
from flowtime.sim.rules import SERIES_SEMANTICS, is_utc_timestamp, semantic_value


def build_model(document: Mapping[str, Any], *, mode: str, rng: Mapping[str, Any] | None) -> dict[str, Any]:
    """Model mapping in §7.1 key order, without provenance: parameters, dependencies and unknown keys
    dropped, aliases renamed, ``grid.start`` filled, null and blank values omitted.

    Malformed parts (a node that is not a mapping, a grid that is a string) are passed through as they are,
    so that model validation reports them.
    """
    model: dict[str, Any] = {
        "schemaVersion": document.get("schemaVersion", 1),
        "generator": document.get("generator") or "flowtime-sim",
        "mode": mode,
    }
    metadata = document.get("metadata")
    if isinstance(metadata, dict):
        picked = _pick(metadata, ("id", "title", "description", "version", "tags", "captureKey"))
        if not picked.get("tags"):
            picked.pop("tags", None)
        model["metadata"] = picked
    window = document.get("window")
    if window is not None:
        model["window"] = _pick(window, ("start", "timezone")) if isinstance(window, dict) else window
    model["grid"] = _grid(document.get("grid"), window)
    topology = document.get("topology")
    if topology is not None:
        model["topology"] = _topology(topology)
    nodes = document.get("nodes")
    model["nodes"] = [_node(n) for n in nodes] if isinstance(nodes, list) else nodes
    outputs = document.get("outputs")
    model["outputs"] = [_output(o) for o in outputs] if isinstance(outputs, list) else outputs
    if rng is not None:
        model["rng"] = dict(rng)
    return {key: value for key, value in model.items() if value is not None}


def template_rng(document: Mapping[str, Any]) -> dict[str, Any] | None:
    """The template's substituted ``rng`` block with an integer seed (``"42"`` → 42), or None."""
    rng = document.get("rng")
    if not isinstance(rng, dict):
        return None
    seed = rng.get("seed")
    integer = as_integer(seed)
    return {"kind": rng.get("kind"), "seed": seed if integer is None else integer}


def telemetry_bound(node: Any) -> bool:
    """A const node whose ``source`` is non-blank reads its series from telemetry."""
    if not isinstance(node, dict) or str(node.get("kind", "")).lower() != "const":
        return False
    source = node.get("source")
    return source is not None and bool(str(source).strip())


def _grid(grid: Any, window: Any) -> Any:
    if not isinstance(grid, dict):
        return grid
    out = _pick(grid, ("bins", "binSize", "binUnit"))
    start = grid.get("start", grid.get("startTimeUtc"))
    if start is None and isinstance(window, dict) and is_utc_timestamp(window.get("start")):
        start = window.get("start")
    if start is not None:
        out["start"] = start
    return out


def _topology(topology: Any) -> Any:
    if not isinstance(topology, dict):
        return topology
    out: dict[str, Any] = {}
    nodes = topology.get("nodes")
    if nodes is not None:
        out["nodes"] = [_topology_node(n) for n in nodes] if isinstance(nodes, list) else nodes
    edges = topology.get("edges")
    if edges is not None:
        out["edges"] = [_edge(e) for e in edges] if isinstance(edges, list) else edges
    return out


def _topology_node(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    out = _pick(node, ("id", "kind", "group"))
    semantics = node.get("semantics")
    if isinstance(semantics, dict):
        canonical = {key: semantic_value(semantics, key, aliases)[1] for key, aliases in SERIES_SEMANTICS}
        canonical["slaMin"] = semantics.get("slaMin")
        out["semantics"] = {k: v for k, v in canonical.items() if v is not None}
    elif semantics is not None:
        out["semantics"] = semantics
    for key, fields in (("initialCondition", ("queueDepth",)), ("ui", ("x", "y"))):
        value = node.get(key)
        if value is not None:
            out[key] = _pick(value, fields) if isinstance(value, dict) else value
    return out


def _edge(edge: Any) -> Any:
    if not isinstance(edge, dict):
        return edge
    out = _pick(edge, ("id",))
    for key, alias in (("from", "source"), ("to", "target")):
        value = edge.get(key, edge.get(alias))
        if value is not None:
            out[key] = value
    if edge.get("weight") is not None:
        out["weight"] = edge["weight"]
    return out


def _node(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    out = _pick(node, ("id", "kind"))
    if not telemetry_bound(node) and node.get("values") is not None:
        out["values"] = node["values"]
    source = node.get("source")
    if source is not None and str(source).strip():
        out["source"] = source
    pmf = node.get("pmf")
    if isinstance(pmf, dict):
        out["pmf"] = _pick(pmf, ("values", "probabilities"))
    elif pmf is not None:
        out["pmf"] = pmf
    expr = node.get("expr", node.get("expression"))
    if expr is not None:
        out["expr"] = expr
    return out


def _output(output: Any) -> Any:
    if not isinstance(output, dict):
        return output
    series = output.get("series", output.get("source"))
    out: dict[str, Any] = {"series": "*" if series is None else series}
    if output.get("exclude") is not None:
        out["exclude"] = output["exclude"]
    alias = output.get("as", output.get("filename"))
    if alias is not None:
        out["as"] = alias
    return out


def _pick(mapping: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: mapping[key] for key in keys if mapping.get(key) is not None}
