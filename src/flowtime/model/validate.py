"""Field rules (``model.md`` §1–§5, §9, §11) of the model root, grid, nodes, outputs and rng."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from flowtime.model.expressions import Expr, Ref, analyse_expression
from flowtime.model.limits import Limits
from flowtime.model.parse import Loc, format_path
from flowtime.model.pmf import check_pmf
from flowtime.model.report import Reporter
from flowtime.model.sources import SourceError, SourceNotFound, parse_file_uri, read_series_csv, resolve_uri
from flowtime.model.spec import BIN_UNIT_MINUTES, FloatArray, Grid, Output, Rng
from flowtime.model.topology import TopologySpec, validate_topology
from flowtime.model.values import as_integer, as_number, is_node_id, shorten, shown_value

_ROOT_KEYS = frozenset(
    {"schemaVersion", "grid", "nodes", "outputs", "topology", "rng", "mode", "metadata", "provenance"}
    | {"window", "generator", "classes", "traffic", "arrivals", "route"}
)
_GRID_KEYS = frozenset({"bins", "binSize", "binUnit", "start", "startTimeUtc", "binMinutes"})
_COMMON_NODE_KEYS = frozenset({"id", "kind", "metadata", "dependencies", "initial", "expression"})
_KIND_KEYS: Mapping[str, frozenset[str]] = {
    "const": frozenset({"values", "source"}),
    "expr": frozenset({"expr"}),
    "pmf": frozenset({"pmf"}),
    "serviceWithBuffer": frozenset(
        {"inflow", "outflow", "loss", "wipLimit", "wipLimitSeries", "wipOverflow", "dispatchSchedule"}
    ),
}
_KINDS = {kind.lower(): kind for kind in _KIND_KEYS}
_OUTPUT_KEYS = frozenset({"series", "as", "id", "description", "exclude"})
_RNG_KEYS = frozenset({"kind", "seed"})
_SEED_RANGE = (-(2**63), 2**63 - 1)


@dataclass(slots=True)
class DeclaredNode:
    """A node with a valid, unique id: it becomes column ``index``. Fields not of its kind stay None.

    ``kind`` is the canonical kind, or ``""`` when the kind is unknown or unsupported (the id still resolves,
    so that references to it are not reported twice; a model with such a node is never built).
    """

    index: int
    id: str
    kind: str
    values: FloatArray | None = None
    source: str | None = None
    expr: str | None = None
    ast: Expr | None = None
    refs: list[tuple[Ref, bool]] = field(default_factory=list)  # (reference, lagged) of ``ast``, text order
    pmf: tuple[tuple[float, ...], tuple[float, ...]] | None = None
    inflow: str | None = None
    outflow: str | None = None
    loss: str | None = None
    wip_limit: float | None = None
    wip_limit_series: str | None = None
    wip_overflow: str | None = None


@dataclass(slots=True)
class ModelParts:
    """Everything the field rules could extract; ``grid`` is None when the grid is invalid."""

    grid: Grid | None = None
    nodes: list[DeclaredNode] = field(default_factory=list)
    outputs: list[tuple[int, Output]] = field(default_factory=list)
    topology: TopologySpec | None = None
    rng: Rng | None = None
    mode: str = "simulation"
    metadata: Mapping[str, Any] = field(default_factory=dict)
    provenance: Mapping[str, Any] | None = None


def validate_document(
    root: Any,
    report: Reporter,
    *,
    limits: Limits,
    model_dir: Path | None,
    allowed_roots: Sequence[Path],
    read_sources: bool = True,
) -> ModelParts | None:
    """Check every field rule, reporting to ``report``; None when the root is not a mapping.

    Without ``read_sources`` a const ``source`` is checked for form only and its values are NaN.
    """
    if not isinstance(root, dict):
        report.error("invalid_type", "root must be a mapping", None, key=False)
        return None
    parts = ModelParts()
    _check_root(root, report, parts)
    parts.grid = _check_grid(root, report, limits)
    checker = _NodeChecker(report, limits, parts.grid, model_dir, allowed_roots, read_sources)
    parts.nodes = checker.check(root.get("nodes"))
    parts.outputs = _check_outputs(root.get("outputs"), report)
    parts.topology = validate_topology(root.get("topology"), report, limits)
    parts.rng = _check_rng(root.get("rng"), report)
    return parts


# ------------------------------------------------------------------------------------------------ root


def _check_root(root: dict[str, Any], report: Reporter, parts: ModelParts) -> None:
    version = root.get("schemaVersion")
    if version is None:
        report.error("schema_version", "schemaVersion is required", ("schemaVersion",))
    elif as_integer(version) is None or isinstance(version, bool):
        report.error("schema_version", "schemaVersion must be an integer", ("schemaVersion",))
    elif as_integer(version) != 1:
        report.error("schema_version", "schemaVersion must be 1", ("schemaVersion",))
    for key, value in root.items():
        if value is None:
            continue
        loc = (key,)
        if key in ("arrivals", "route"):
            message = f"Top-level '{key}' field is not supported. Use 'nodes' array with node definitions instead."
            report.error("legacy_field", message, loc, key=True)
        elif key in ("classes", "traffic"):
            if value or not isinstance(value, dict | list):
                report.error("unsupported_feature", f"{key} is not supported yet (planned)", loc, key=True)
        elif key == "mode":
            text = report.text(loc, value)
            if text is None or text.strip().lower() not in ("simulation", "telemetry"):
                shown = text if text is not None else type(value).__name__
                message = f"Invalid mode '{shown}'. Expected 'simulation' or 'telemetry'."
                report.error("invalid_value", message, loc)
            else:
                parts.mode = text.strip().lower()
        elif key == "metadata":
            if isinstance(value, dict):
                parts.metadata = value
            else:
                report.error("invalid_type", "metadata must be a mapping", loc)
        elif key == "provenance":
            if isinstance(value, dict):
                parts.provenance = value
            else:
                message = "Invalid provenance: Provenance must be an object, not a string or other primitive type"
                report.error("invalid_type", message, loc)
        elif key not in _ROOT_KEYS:
            _unknown_key(report, loc)


def _unknown_key(report: Reporter, loc: Loc) -> None:
    report.warning("unknown_key", f"Unknown key '{loc[-1]}' at {format_path(loc)} was ignored", loc)


# ------------------------------------------------------------------------------------------------ grid


def _check_grid(root: dict[str, Any], report: Reporter, limits: Limits) -> Grid | None:
    grid = root.get("grid")
    if grid is None:
        report.error("grid_invalid", "Model must have a grid definition", ("grid",))
        return None
    if not isinstance(grid, dict):
        report.error("grid_invalid", "Grid must be an object", ("grid",))
        return None
    for key, value in grid.items():
        if value is not None and key not in _GRID_KEYS:
            _unknown_key(report, ("grid", key))
    if grid.get("binMinutes") is not None:
        message = "binMinutes is no longer supported, use binSize and binUnit instead"
        report.error("legacy_field", message, ("grid", "binMinutes"), key=True)
        return None
    bins = _grid_int(grid, "bins", limits.max_bins, report)
    bin_size = _grid_int(grid, "binSize", limits.max_bin_size, report)
    unit = _grid_unit(grid, report)
    start = _grid_start(grid, report)
    if bins is None or bin_size is None or unit is None or start is False:
        return None
    return Grid(bins, bin_size, unit, start)


def _grid_int(grid: dict[str, Any], key: str, maximum: int, report: Reporter) -> int | None:
    loc = ("grid", key)
    value = grid.get(key)
    if value is None:
        report.error("grid_invalid", f"Grid must specify {key}", loc)
        return None
    number = None if isinstance(value, bool) else as_integer(value)
    if number is None:
        report.error("grid_invalid", f"{key} must be an integer", loc)
        return None
    if not 1 <= number <= maximum:
        report.error("grid_invalid", f"{key} must be between 1 and {maximum}", loc)
        return None
    return number


def _grid_unit(grid: dict[str, Any], report: Reporter) -> str | None:
    loc = ("grid", "binUnit")
    value = grid.get("binUnit")
    if value is None:
        report.error("grid_invalid", "Grid must specify binUnit", loc)
        return None
    text = report.text(loc, value)
    if text is None or not text.strip():
        report.error("grid_invalid", "binUnit must be a non-empty string", loc)
        return None
    unit = text.strip().lower()
    if unit not in BIN_UNIT_MINUTES:
        report.error("grid_invalid", "binUnit must be one of: minutes, hours, days, weeks", loc)
        return None
    return unit


def _grid_start(grid: dict[str, Any], report: Reporter) -> datetime | bool | None:
    """The UTC start, None when absent, False when invalid (reported)."""
    found: list[tuple[str, datetime]] = []
    for key in ("start", "startTimeUtc"):
        value = grid.get(key)
        if value is None:
            continue
        loc = ("grid", key)
        text = report.text(loc, value)
        instant = parse_timestamp(text) if text is not None else None
        if instant is None:
            report.error("grid_invalid", f"Invalid startTime value: '{text if text is not None else value}'", loc)
            return False
        found.append((text or "", instant))
    if len(found) == 2 and found[0][1] != found[1][1]:
        message = (
            f"start '{found[0][0]}' and startTimeUtc '{found[1][0]}' must denote the same instant "
            "(give only one of them)"
        )
        report.error("grid_invalid", message, ("grid", "startTimeUtc"))
        return False
    return found[0][1] if found else None


def parse_timestamp(text: str) -> datetime | None:
    """An ISO-8601 timestamp converted to UTC; no offset means UTC. None when unparseable."""
    try:
        instant = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if instant.tzinfo is None:
        return instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC)


# ----------------------------------------------------------------------------------------------- nodes


class _NodeChecker:
    """The rules of ``model.md`` §4 for every entry of ``nodes``."""

    def __init__(
        self,
        report: Reporter,
        limits: Limits,
        grid: Grid | None,
        model_dir: Path | None,
        allowed_roots: Sequence[Path],
        read_sources: bool,
    ) -> None:
        self.report = report
        self.limits = limits
        self.bins = grid.bins if grid is not None else None
        self.model_dir = model_dir
        self.allowed_roots = allowed_roots
        self.read_sources = read_sources
        self.seen: dict[str, str] = {}  # case-folded id -> first id

    def check(self, nodes: Any) -> list[DeclaredNode]:
        if nodes is None:
            return []
        if not isinstance(nodes, list):
            self.report.error("invalid_type", "nodes must be a list", ("nodes",))
            return []
        if len(nodes) > self.limits.max_columns:
            message = f"Model has {len(nodes)} nodes; the maximum is {self.limits.max_columns} columns"
            self.report.error("limit_exceeded", message, ("nodes",))
            return []
        declared = []
        for index, item in enumerate(nodes):
            node = self._node(index, item)
            if node is not None:
                declared.append(node)
        return declared

    def _node(self, index: int, item: Any) -> DeclaredNode | None:
        loc: Loc = ("nodes", index)
        if not isinstance(item, dict):
            self.report.error("invalid_type", f"{format_path(loc)} must be a mapping", loc)
            return None
        node_id = self._id(loc, item)
        shown = node_id if node_id is not None else _raw_id(self.report, loc, item)
        kind = self._kind(loc, item, shown)
        node = DeclaredNode(index, node_id or "", kind or "")
        if kind == "const":
            self._const(loc, item, node, shown)
        elif kind == "expr":
            self._expr(loc, item, node, shown)
        elif kind == "pmf":
            self._pmf(loc, item, node, shown)
        elif kind == "serviceWithBuffer":
            self._buffer(loc, item, node, shown)
        if item.get("expression") is not None:  # on any kind: never ignored silently
            message = f"Node '{shown}': 'expression' field is no longer supported, use 'expr' instead"
            self.report.error("legacy_field", message, (*loc, "expression"), node_id=shown, key=True)
        if kind is not None:
            allowed = _COMMON_NODE_KEYS | _KIND_KEYS[kind]
            for key, value in item.items():
                if value is not None and key not in allowed:
                    _unknown_key(self.report, (*loc, key))
        return node if node_id is not None else None

    def _id(self, loc: Loc, item: dict[str, Any]) -> str | None:
        """The id when it is valid and unique (case-insensitively), else None (reported)."""
        id_loc = (*loc, "id")
        value = item.get("id")
        text = self.report.text(id_loc, value)
        if value is not None and text is None:
            self.report.error("invalid_type", f"{format_path(id_loc)} must be a string", id_loc)
            return None
        if not text:
            self.report.error("invalid_id", "Node must have an id", id_loc)
            return None
        if len(text) > self.limits.max_node_id_length:
            message = (
                f"Node id '{shorten(text)}' is {len(text)} characters long; "
                f"the maximum is {self.limits.max_node_id_length}"
            )
            self.report.error("limit_exceeded", message, id_loc)
            return None
        if not is_node_id(text):
            message = (
                f"Node id '{text}' is invalid: ids must start with a letter or '_' "
                "and contain only letters, digits and '_'"
            )
            self.report.error("invalid_id", message, id_loc, node_id=text)
            return None
        first = self.seen.get(text.lower())
        if first is not None:
            message = f"Duplicate node id '{text}'"
            if first != text:
                message += f" (ids must differ in more than letter case; '{first}' is declared earlier)"
            self.report.error("duplicate_id", message, id_loc, node_id=text)
            return None
        self.seen[text.lower()] = text
        return text

    def _kind(self, loc: Loc, item: dict[str, Any], shown: str) -> str | None:
        kind_loc = (*loc, "kind")
        value = item.get("kind")
        if value is None:
            return "const"
        text = self.report.text(kind_loc, value)
        if text is None:
            self.report.error("invalid_type", f"{format_path(kind_loc)} must be a string", kind_loc, node_id=shown)
            return None
        canonical = _KINDS.get(text.strip().lower())
        if canonical is not None:
            return canonical
        if text.strip().lower() == "router":
            message = "Node kind 'router' is not supported yet (planned)"
            self.report.error("unsupported_feature", message, kind_loc, node_id=shown)
        else:
            self.report.error("unknown_node_kind", f"Unknown node kind: {text}", kind_loc, node_id=shown)
        return None

    # -------------------------------------------------------------------------------------- const

    def _const(self, loc: Loc, item: dict[str, Any], node: DeclaredNode, shown: str) -> None:
        source_loc = (*loc, "source")
        source = self.report.text(source_loc, item.get("source"))
        values = item.get("values")
        if item.get("source") is not None and source is None:
            self.report.error("invalid_type", f"{format_path(source_loc)} must be a string", source_loc, node_id=shown)
            return
        if source is not None and source.strip():
            if values is not None:
                message = f"Node {shown}: both 'source' and 'values' are given; 'values' are ignored"
                self.report.warning("const_values_ignored", message, (*loc, "values"), node_id=shown)
            node.source = source
            node.values = self._read_source(source_loc, source, shown)
            return
        if values is None:
            message = f"Node {shown}: const nodes require values array"
            self.report.error("missing_field", message, (*loc, "values"), node_id=shown)
            return
        node.values = self._values((*loc, "values"), values, shown)

    def _values(self, loc: Loc, values: Any, shown: str) -> FloatArray | None:
        if not isinstance(values, list):
            self.report.error("invalid_type", f"{format_path(loc)} must be a list", loc, node_id=shown)
            return None
        if self.bins is not None and len(values) != self.bins:
            message = f"ConstSeriesNode {shown}: values length {len(values)} != grid length {self.bins}"
            self.report.error("const_length_mismatch", message, loc, node_id=shown)
        if set(map(type, values)) <= {int, float}:
            try:
                return np.array(values, dtype=np.float64)
            except OverflowError:  # an int beyond the double range: convert one by one below
                pass
        array = np.empty(len(values), dtype=np.float64)
        ok = True
        for i, value in enumerate(values):
            number = as_number(value)
            if number is None:
                ok = False
                message = f"Node {shown}: values[{i}] is not a number"
                self.report.error("invalid_value", message, (*loc, i), node_id=shown)
            else:
                array[i] = number
        return array if ok else None

    def _read_source(self, loc: Loc, uri: str, shown: str) -> FloatArray | None:
        try:
            if not self.read_sources:
                parse_file_uri(uri)
                return np.full(self.bins, np.nan) if self.bins is not None else None
            path = resolve_uri(uri, self.model_dir, self.allowed_roots)
            if self.bins is None:
                return None
            return read_series_csv(path, self.bins, "strict").values
        except SourceNotFound:
            self.report.error("source_not_found", f"Node {shown}: source '{uri}' was not found.", loc, node_id=shown)
        except SourceError as exc:
            self.report.error(exc.code, exc.message, loc, node_id=shown)
        return None

    # --------------------------------------------------------------------------------------- expr

    def _expr(self, loc: Loc, item: dict[str, Any], node: DeclaredNode, shown: str) -> None:
        expr_loc = (*loc, "expr")
        value = item.get("expr")
        text = self.report.text(expr_loc, value)
        if value is not None and text is None:
            self.report.error("invalid_type", f"{format_path(expr_loc)} must be a string", expr_loc, node_id=shown)
        elif text is None or not text.strip():
            message = f"Node {shown}: expr nodes require expr property"
            self.report.error("missing_field", message, expr_loc, node_id=shown)
        else:
            node.expr = text
            node.ast, problems, node.refs = analyse_expression(
                text,
                shown,
                lambda: format_path(expr_loc),
                max_length=self.limits.max_expression_length,
                max_depth=self.limits.max_expression_depth,
            )
            for problem in problems:
                self.report.add(problem, expr_loc)

    # ---------------------------------------------------------------------------------------- pmf

    def _pmf(self, loc: Loc, item: dict[str, Any], node: DeclaredNode, shown: str) -> None:
        node.pmf = check_pmf((*loc, "pmf"), item.get("pmf"), self.report, shown, self.limits.max_pmf_entries)

    # ----------------------------------------------------------------------------- serviceWithBuffer

    def _buffer(self, loc: Loc, item: dict[str, Any], node: DeclaredNode, shown: str) -> None:
        report = self.report
        for key in ("inflow", "outflow", "loss", "wipLimitSeries", "wipOverflow"):
            key_loc = (*loc, key)
            value = item.get(key)
            text = report.text(key_loc, value)
            if value is not None and text is None:
                report.error("invalid_type", f"{format_path(key_loc)} must be a node id", key_loc, node_id=shown)
            elif text is None or not text.strip():
                if key in ("inflow", "outflow"):
                    message = f"ServiceWithBuffer node {shown} requires '{key}'."
                    report.error("missing_field", message, key_loc, node_id=shown)
            elif key == "wipLimitSeries":
                node.wip_limit_series = text
            elif key == "wipOverflow":
                node.wip_overflow = text
            else:
                setattr(node, key, text)
        if item.get("wipLimit") is not None:
            limit = as_number(item["wipLimit"])
            if limit is None or not math.isfinite(limit) or limit < 0:
                message = f"Node {shown}: wipLimit must be a finite number >= 0"
                report.error("topology_invalid", message, (*loc, "wipLimit"), node_id=shown)
            else:
                node.wip_limit = limit
        schedule = item.get("dispatchSchedule")
        if schedule is not None and (schedule or not isinstance(schedule, dict | list)):
            message = "dispatchSchedule is not supported yet (planned)"
            report.error("unsupported_feature", message, (*loc, "dispatchSchedule"), node_id=shown, key=True)


def _raw_id(report: Reporter, loc: Loc, item: dict[str, Any]) -> str:
    """How messages name a node without a usable id: the id text when there is one, else its path."""
    text = report.text((*loc, "id"), item.get("id"))
    return shorten(text) if text else format_path(loc)


# --------------------------------------------------------------------------------------- outputs, rng


def _check_outputs(outputs: Any, report: Reporter) -> list[tuple[int, Output]]:
    if outputs is None:
        return []
    if not isinstance(outputs, list):
        report.error("invalid_type", "outputs must be a list", ("outputs",))
        return []
    found = []
    for index, item in enumerate(outputs):
        loc: Loc = ("outputs", index)
        if not isinstance(item, dict):
            report.error("invalid_type", f"{format_path(loc)} must be a mapping", loc)
            continue
        series = report.text((*loc, "series"), item.get("series"))
        if series is None or not series.strip():
            report.error("missing_field", f"{format_path(loc)} must specify series", (*loc, "series"))
        name = _output_file_name(loc, item, report, series)
        for key, value in item.items():
            if value is not None and key not in _OUTPUT_KEYS:
                _unknown_key(report, (*loc, key))
        if series is not None and series.strip() and name is not False:
            found.append((index, Output(series.strip(), name or None)))
    return found


def _output_file_name(loc: Loc, item: dict[str, Any], report: Reporter, series: str | None) -> str | bool | None:
    """The trimmed ``as`` name, None when absent, False when invalid (reported)."""
    value = item.get("as")
    if value is None:
        return None
    as_loc = (*loc, "as")
    text = report.text(as_loc, value)
    name = text.strip() if text is not None else ""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        shown = text if text is not None else shown_value(value)
        message = (
            f"Output '{series or format_path(loc)}': 'as' must be a plain file name "
            f"(not blank, no '/' or '\\', not starting with '.'), got '{shown}'"
        )
        report.error("invalid_value", message, as_loc)
        return False
    return name


def _check_rng(rng: Any, report: Reporter) -> Rng | None:
    if rng is None:
        return None
    if not isinstance(rng, dict):
        report.error("invalid_type", "rng must be a mapping", ("rng",))
        return None
    for key, value in rng.items():
        if value is not None and key not in _RNG_KEYS:
            _unknown_key(report, ("rng", key))
    before = report.error_count
    kind = report.text(("rng", "kind"), rng.get("kind"))
    if kind is None or not kind.strip():
        report.error("rng_invalid", "rng.kind must be provided when rng is specified.", ("rng", "kind"))
    elif kind.strip().lower() != "pcg32":
        report.error("rng_invalid", f"Unsupported rng.kind '{kind}'. Expected 'pcg32'.", ("rng", "kind"))
    seed_value = rng.get("seed")
    seed = None if seed_value is None or isinstance(seed_value, bool) else as_integer(seed_value)
    if seed_value is not None and (seed is None or not _SEED_RANGE[0] <= seed <= _SEED_RANGE[1]):
        report.error("rng_invalid", "rng.seed must be an integer.", ("rng", "seed"))
    return Rng("pcg32", seed) if report.error_count == before else None
