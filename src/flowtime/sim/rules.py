"""Template rules on the parsed substituted text (``templates.md`` §6.1, §4.4) and its unknown keys (§2.1)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flowtime.model import check_expression, references
from flowtime.model.values import as_integer
from flowtime.sim.errors import TemplateProblem
from flowtime.sim.parameters import Parameter

MODES = ("simulation", "telemetry")
NODE_KINDS = ("const", "pmf", "expr")
SERIES_SEMANTICS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("arrivals", ()),
    ("served", ()),
    ("errors", ()),
    ("externalDemand", ("external_demand",)),
    ("queueDepth", ("queue",)),
    ("capacity", ()),
)
_VERSION = re.compile(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?\Z")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
_WHOLE_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}\Z")
_PMF_TOLERANCE = 1e-9

# Keys of every closed mapping of the template format (§2); ``provenance`` is open (§2.10).
_KNOWN_KEYS: Mapping[str, frozenset[str]] = {
    "root": frozenset(
        {
            "schemaVersion",
            "generator",
            "mode",
            "metadata",
            "window",
            "parameters",
            "grid",
            "topology",
            "nodes",
            "outputs",
            "rng",
            "provenance",
        }
    ),
    "metadata": frozenset({"id", "title", "description", "version", "tags", "captureKey"}),
    "window": frozenset({"start", "timezone"}),
    "parameter": frozenset(
        {"name", "type", "arrayOf", "title", "description", "default", "minimum", "min", "maximum", "max"}
    ),
    "grid": frozenset({"bins", "binSize", "binUnit", "start", "startTimeUtc"}),
    "topology": frozenset({"nodes", "edges"}),
    "topologyNode": frozenset({"id", "kind", "group", "semantics", "initialCondition", "ui"}),
    "semantics": frozenset({key for pair in SERIES_SEMANTICS for key in (pair[0], *pair[1])} | {"slaMin"}),
    "initialCondition": frozenset({"queueDepth"}),
    "ui": frozenset({"x", "y"}),
    "edge": frozenset({"id", "from", "to", "source", "target", "weight"}),
    "node": frozenset({"id", "kind", "values", "source", "pmf", "expr", "expression", "dependencies"}),
    "pmf": frozenset({"values", "probabilities"}),
    "output": frozenset({"series", "source", "as", "filename", "exclude", "id", "description"}),
    "rng": frozenset({"kind", "seed"}),
}
# Nested closed mappings: parent kind -> {key: (child kind, is a list of them)}.
_CHILDREN: Mapping[str, Mapping[str, tuple[str, bool]]] = {
    "root": {
        "metadata": ("metadata", False),
        "window": ("window", False),
        "parameters": ("parameter", True),
        "grid": ("grid", False),
        "topology": ("topology", False),
        "nodes": ("node", True),
        "outputs": ("output", True),
        "rng": ("rng", False),
    },
    "topology": {"nodes": ("topologyNode", True), "edges": ("edge", True)},
    "topologyNode": {
        "semantics": ("semantics", False),
        "initialCondition": ("initialCondition", False),
        "ui": ("ui", False),
    },
    "node": {"pmf": ("pmf", False)},
}
_HONOURED_PROVENANCE = ("source", "generator")


def check_rules(
    document: Mapping[str, Any],
    template_document: Mapping[str, Any],
    parameters: tuple[Parameter, ...],
    merged: Mapping[str, Any],
) -> list[TemplateProblem]:
    """Every §6.1 error of the substituted document, in document order.

    ``template_document`` (placeholders preserved) tells which const ``values`` come from an array
    parameter, so a wrong length is reported against that parameter (§4.4).
    """
    problems = _root_problems(document)
    problems += _window_problems(document.get("window"))
    node_ids = _node_ids(document.get("nodes"))
    problems += _node_problems(document, template_document, parameters, merged)
    problems += _output_problems(document.get("outputs"), node_ids)
    problems += _topology_problems(document, node_ids)
    rng = document.get("rng")
    if isinstance(rng, dict) and rng.get("seed") is None:
        problems.append(_error("rng_seed_required", "rng.seed is required when rng is specified.", "rng.seed"))
    return problems


def unknown_keys(document: Mapping[str, Any]) -> list[TemplateProblem]:
    """``unknown_key`` warnings for keys outside the template format, and ``provenance_key_ignored``."""
    found: list[TemplateProblem] = []
    _walk_keys(document, "root", "", found)
    provenance = document.get("provenance")
    if isinstance(provenance, dict):
        for key in provenance:
            if key not in _HONOURED_PROVENANCE:
                message = f"Template provenance key '{key}' is ignored; only 'source' and 'generator' are honoured."
                found.append(TemplateProblem("provenance_key_ignored", message, "warning", path=f"provenance.{key}"))
    return found


def semantic_value(semantics: Mapping[str, Any], key: str, aliases: tuple[str, ...]) -> tuple[str, Any]:
    """The key actually used for a semantic (canonical first, then its aliases) and its value."""
    for name in (key, *aliases):
        if semantics.get(name) is not None:
            return name, semantics[name]
    return key, None


def _root_problems(document: Mapping[str, Any]) -> list[TemplateProblem]:
    problems: list[TemplateProblem] = []
    version = document.get("schemaVersion")
    if version is not None and as_integer(version) != 1:
        problems.append(
            _error(
                "schema_version_unsupported",
                f"Unsupported schemaVersion {version}. Expected 1.",
                "schemaVersion",
            )
        )
    generator = document.get("generator")
    if generator is not None and not str(generator).lower().startswith("flowtime-sim"):
        message = f"Unsupported generator '{generator}'. Expected 'flowtime-sim'."
        problems.append(_error("generator_unsupported", message, "generator"))
    mode = document.get("mode")
    if mode is not None and str(mode).lower() not in MODES:
        message = f"Unsupported template mode '{mode}'. Expected 'simulation' or 'telemetry'."
        problems.append(_error("mode_unsupported", message, "mode"))
    metadata = document.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    for key in ("id", "title", "version"):
        if _blank(metadata.get(key)):
            problems.append(_error("metadata_required", f"Template metadata.{key} is required.", f"metadata.{key}"))
    version_text = metadata.get("version")
    if not _blank(version_text) and not _VERSION.match(str(version_text)):
        message = f"Template metadata.version '{version_text}' must be a semantic version (e.g. 1.0.0)."
        problems.append(_error("metadata_version_invalid", message, "metadata.version"))
    return problems


def _window_problems(window: Any) -> list[TemplateProblem]:
    message = "Template must define window.start (window.timezone defaults to UTC)."
    if not isinstance(window, dict):
        return [_error("window_required", message, "window")]
    start = window.get("start")
    if _blank(start):
        return [_error("window_required", message, "window.start")]
    problems: list[TemplateProblem] = []
    if not is_utc_timestamp(start):
        message = f"Template window.start '{start}' must be an ISO-8601 UTC timestamp."
        problems.append(_error("window_start_invalid", message, "window.start"))
    timezone = window.get("timezone")
    if timezone is not None and str(timezone).upper() != "UTC":
        message = f"Template window.timezone '{timezone}' is not supported; only 'UTC' is allowed."
        problems.append(_error("window_timezone_unsupported", message, "window.timezone"))
    return problems


def _node_problems(
    document: Mapping[str, Any],
    template_document: Mapping[str, Any],
    parameters: tuple[Parameter, ...],
    merged: Mapping[str, Any],
) -> list[TemplateProblem]:
    nodes = document.get("nodes")
    if not isinstance(nodes, list) or not nodes:
        return [_error("nodes_required", "Template must define at least one node.", "nodes")]
    grid = document.get("grid")
    bins = as_integer(grid.get("bins")) if isinstance(grid, dict) else None
    template_nodes = _list(template_document.get("nodes"))
    arrays = {p.name for p in parameters if p.type == "array"}
    problems: list[TemplateProblem] = []
    for i, node in enumerate(nodes):
        if not isinstance(node, dict):
            continue
        node_id = node.get("id")
        kind = node.get("kind")
        kind_text = "" if kind is None else str(kind)
        path = f"nodes[{i}]"
        if kind_text.lower() not in NODE_KINDS:
            message = f"Unsupported node kind '{kind_text}' for node '{node_id}'."
            problems.append(_error("node_kind_unsupported", message, f"{path}.kind"))
        elif kind_text.lower() == "const":
            template_node = template_nodes[i] if i < len(template_nodes) else None
            problems += _length_problems(node, template_node, bins, arrays, merged, path)
        elif kind_text.lower() == "pmf":
            problems += _pmf_problems(node, path)
        else:
            problems += _dependency_problems(node, path)
    return problems


def _length_problems(
    node: Mapping[str, Any],
    template_node: Any,
    bins: int | None,
    arrays: set[str],
    merged: Mapping[str, Any],
    path: str,
) -> list[TemplateProblem]:
    values = node.get("values")
    if bins is None or not isinstance(values, list) or not values:
        return []
    authored = template_node.get("values") if isinstance(template_node, dict) else None
    match = _WHOLE_PLACEHOLDER.match(authored) if isinstance(authored, str) else None
    if match and match.group(1) in arrays and isinstance(merged.get(match.group(1)), list):
        name = match.group(1)
        count = len(merged[name])
        if count == bins:
            return []
        message = (
            f"Parameter '{name}' provides {count} values but grid.bins is {bins}; "
            f"const node '{node.get('id')}' requires matching length."
        )
        return [TemplateProblem("parameter_length_mismatch", message, path=f"{path}.values")]
    if len(values) == bins:
        return []
    message = f"ConstSeriesNode {node.get('id')}: values length {len(values)} != grid length {bins}"
    return [_error("const_length_mismatch", message, f"{path}.values")]


def _pmf_problems(node: Mapping[str, Any], path: str) -> list[TemplateProblem]:
    pmf = node.get("pmf")
    if not isinstance(pmf, dict):
        return []
    values, probabilities = pmf.get("values"), pmf.get("probabilities")
    if not isinstance(values, list) or not isinstance(probabilities, list) or not probabilities:
        return []
    if len(values) != len(probabilities) or not all(_finite_number(p) for p in probabilities):
        return []
    total = 0.0
    for p in probabilities:
        total += p
    if abs(total - 1.0) <= _PMF_TOLERANCE:
        return []
    return [_error("pmf_sum_invalid", f"PMF node '{node.get('id')}': probabilities must sum to 1.0.", f"{path}.pmf")]


def _dependency_problems(node: Mapping[str, Any], path: str) -> list[TemplateProblem]:
    declared = node.get("dependencies")
    text = node.get("expr", node.get("expression"))
    if not isinstance(declared, list) or not isinstance(text, str):
        return []
    ast, _ = check_expression(text, str(node.get("id")), f"{path}.expr")
    if ast is None:
        return []
    used = list(dict.fromkeys(r.name for r in references(ast)))
    declared_names = [str(d) for d in declared]
    problems: list[TemplateProblem] = []
    missing = [name for name in used if name not in declared_names]
    unused = [name for name in dict.fromkeys(declared_names) if name not in used]
    if missing:
        message = f"Expression node '{node.get('id')}' is missing dependencies for: {', '.join(missing)}."
        problems.append(_error("dependencies_mismatch", message, f"{path}.dependencies"))
    if unused:
        message = f"Expression node '{node.get('id')}' declares unused dependencies: {', '.join(unused)}."
        problems.append(_error("dependencies_mismatch", message, f"{path}.dependencies"))
    return problems


def _output_problems(outputs: Any, node_ids: set[str]) -> list[TemplateProblem]:
    if not isinstance(outputs, list) or not outputs:
        return [_error("outputs_required", "Template must define at least one output.", "outputs")]
    problems: list[TemplateProblem] = []
    for i, output in enumerate(outputs):
        if not isinstance(output, dict):
            continue
        series = output.get("series", output.get("source"))
        series = "*" if series is None else str(series)
        if series == "*" or series.endswith("/*") or series in node_ids:
            continue
        problems.append(
            _error(
                "output_unknown_series",
                f"Output references unknown series '{series}'.",
                f"outputs[{i}].series",
            )
        )
    return problems


def _topology_problems(document: Mapping[str, Any], node_ids: set[str]) -> list[TemplateProblem]:
    topology = document.get("topology")
    nodes = topology.get("nodes") if isinstance(topology, dict) else None
    if not isinstance(nodes, list) or not nodes:
        return [_error("topology_required", "Template topology must define at least one node.", "topology.nodes")]
    mode = str(document.get("mode") or "simulation").lower()
    problems: list[TemplateProblem] = []
    for i, node in enumerate(nodes):
        if not isinstance(node, dict):
            continue
        node_id = node.get("id")
        path = f"topology.nodes[{i}]"
        if _blank(node.get("kind")):
            problems.append(
                _error("topology_kind_required", f"Topology node '{node_id}' requires a kind.", f"{path}.kind")
            )
        semantics = node.get("semantics")
        semantics = semantics if isinstance(semantics, dict) else {}
        present: set[str] = set()
        for key, aliases in SERIES_SEMANTICS:
            written, value = semantic_value(semantics, key, aliases)
            if value is None:
                continue
            present.add(key)
            if isinstance(value, str) and not value.lower().startswith("file:") and value not in node_ids:
                message = f"Topology node '{node_id}' semantics.{written} references unknown node '{value}'."
                problems.append(_error("topology_semantics_unknown_node", message, f"{path}.semantics.{key}"))
        if mode == "simulation":
            if "arrivals" not in present:
                message = f"Topology node '{node_id}' must define semantics.arrivals in simulation mode."
                problems.append(_error("topology_semantics_required", message, f"{path}.semantics.arrivals"))
            if "served" not in present and "queueDepth" not in present:
                message = (
                    f"Topology node '{node_id}' must define semantics.served or semantics.queueDepth "
                    "in simulation mode."
                )
                problems.append(_error("topology_semantics_required", message, f"{path}.semantics.served"))
    edges = topology.get("edges") if isinstance(topology, dict) else None
    if len(nodes) > 1 and not edges:
        problems.append(
            _error(
                "topology_edges_required",
                "Topology with more than one node requires edges.",
                "topology.edges",
            )
        )
    return problems


def _walk_keys(value: Any, kind: str, path: str, found: list[TemplateProblem]) -> None:
    if not isinstance(value, dict):
        return
    known = _KNOWN_KEYS[kind]
    for key in value:
        if key not in known:
            where = f"{path}.{key}" if path else str(key)
            found.append(
                TemplateProblem("unknown_key", f"Unknown key '{key}' at {where} was ignored", "warning", path=where)
            )
    for key, (child, many) in _CHILDREN.get(kind, {}).items():
        child_path = f"{path}.{key}" if path else key
        if many:
            for i, item in enumerate(_list(value.get(key))):
                _walk_keys(item, child, f"{child_path}[{i}]", found)
        else:
            _walk_keys(value.get(key), child, child_path, found)


def _node_ids(nodes: Any) -> set[str]:
    return {str(n["id"]) for n in _list(nodes) if isinstance(n, dict) and n.get("id") is not None}


def is_utc_timestamp(value: Any) -> bool:
    """An ISO-8601 date-time string without offset, with ``Z`` or with a zero offset (§2.3)."""
    if not isinstance(value, str) or not _DATE_TIME.match(value.strip()):
        return False
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return False
    offset = parsed.utcoffset()
    return offset is None or not offset


def _finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _error(code: str, message: str, path: str) -> TemplateProblem:
    return TemplateProblem(code, message, path=path)
