"""A stored run loaded for time-travel queries: per-node series, derived metrics, warnings (api.md §6)."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from flowtime.artifacts import decode_series_csv, parse_utc, series_id
from flowtime.engine import NodeMetrics, derive_metrics
from flowtime.errors import (
    Conflict,
    FlowTimeError,
    ModelInvalid,
    NotFound,
    Problem,
    Unprocessable,
)
from flowtime.logs import get_logger, log_event
from flowtime.model import (
    Column,
    ConstColumn,
    FloatArray,
    Model,
    TopologyNode,
    is_inside,
    load_model,
    read_series_csv,
    resolve_uri,
    snake,
)
from flowtime.runs.details import (
    StoredRun,
    Unreadable,
    capture_warning,
    file_references,
    metadata_block,
    model_file,
    open_stored_run,
    run_warnings,
    stored_index,
)

_LOG = get_logger("state")
# Semantic key, label in mode-validation messages (api.md §6.3), in metric order.
SEMANTICS: tuple[tuple[str, str], ...] = (
    ("arrivals", "arrivals"),
    ("served", "served"),
    ("errors", "errors"),
    ("externalDemand", "external_demand"),
    ("queueDepth", "queue"),
    ("capacity", "capacity"),
)
QUEUE_KINDS = frozenset({"queue", "dlq", "serviceWithBuffer"})
_PARSE_CODES = frozenset({"yaml_syntax", "yaml_empty", "limit_exceeded"})


class ModelMetadataInvalid(Conflict):
    """The stored model no longer validates; carries the ``model.md`` problems."""

    code = "model_metadata_invalid"

    def __init__(self, message: str, problems: Sequence[Problem]) -> None:
        super().__init__(message)
        self.problems = tuple(problems)

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.message, "code": self.code, "errors": [p.to_dict() for p in self.problems]}


@dataclass(slots=True)
class NodeState:
    """One topology node's resolved series over the whole grid and what its answer reports."""

    node: TopologyNode
    series: dict[str, FloatArray] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    missing_bins: list[tuple[str, list[int]]] = field(default_factory=list)
    capture_warnings: list[dict[str, Any]] = field(default_factory=list)
    mode_warning: dict[str, Any] | None = None
    derived: NodeMetrics | None = None

    @property
    def kind(self) -> str:
        return self.node.declared_kind or "service"

    @property
    def has_queue(self) -> bool:
        return "queueDepth" in self.series

    def warnings(self) -> list[dict[str, Any]]:
        """§6.3 warning, then ``telemetry_bins_missing`` (capture warnings are filtered per query)."""
        out = [self.mode_warning] if self.mode_warning else []
        for value, bins in self.missing_bins:
            out.append(
                {
                    "code": "telemetry_bins_missing",
                    "message": f"Telemetry source '{value}' has no rows for {len(bins)} bins; they read as 0.",
                    "severity": "warning",
                    "nodeId": self.node.id,
                    "bins": bins,
                }
            )
        return out


@dataclass(slots=True)
class RunState:
    """A run loaded for state queries; independent of the requested bins, so it can be cached."""

    stored: StoredRun
    model: Model
    nodes: list[NodeState]
    top_warnings: list[dict[str, Any]]
    capture_warnings: list[dict[str, Any]]
    resolved: bool
    mode_error: FlowTimeError | None

    @property
    def run_id(self) -> str:
        return self.stored.run_id

    @property
    def mode(self) -> str:
        return self.stored.mode

    @property
    def bins(self) -> int:
        return self.model.grid.bins

    @property
    def start(self) -> datetime | None:
        return _grid_start(self.model)

    def metadata(self) -> dict[str, Any]:
        return metadata_block(self.stored, resolved=self.resolved, full=False)


def load_run_state(run_dir: Path, run_id: str, *, allowed_roots: Sequence[Path]) -> RunState:
    """Load a run for state queries, raising the errors of ``api.md`` §6.1 in their order."""
    if not run_dir.is_dir() or not (run_dir / "run.json").is_file():
        raise NotFound(f"Run '{run_id}' not found.", code="run_not_found", location=run_id)
    path = model_file(run_dir)
    if path is None:
        raise NotFound(
            f"Required artifact missing for run '{run_id}': model.yaml.",
            code="artifact_missing",
            location=run_id,
        )
    model = _load_model(path, run_dir, run_id, allowed_roots)
    if model.topology is None or not model.topology.nodes:
        raise Unprocessable(
            f"Run '{run_id}' does not include topology information required for state queries.",
            code="topology_missing",
            location=run_id,
        )
    try:
        stored = open_stored_run(run_dir, run_id, with_model=True, model_root=model.raw)
    except Unreadable as exc:
        raise _incomplete(run_id, f"{exc} is unreadable") from None
    _check_metadata(stored)
    files = _SeriesFiles(run_dir)
    columns = {c.id: c for c in model.columns}
    nodes = [_resolve_node(n, model, columns, stored, files, allowed_roots) for n in model.topology.nodes]
    telemetry = stored.mode == "telemetry"
    node_ids = {n.node.id for n in nodes}
    top_capture: list[dict[str, Any]] = []
    if telemetry:
        by_node = {n.node.id: n for n in nodes}
        for warning in stored.capture_warnings():
            item = capture_warning(warning, with_bins=True)
            if item["nodeId"] in node_ids:
                by_node[item["nodeId"]].capture_warnings.append(item)
            else:
                top_capture.append(item)
    top = run_warnings(stored)
    has_file_refs = bool(file_references(stored.model_root))
    mode_error: FlowTimeError | None = None
    if telemetry:
        for n in nodes:
            n.mode_warning = _telemetry_warning(n)
        if any(n.unresolved for n in nodes):
            top.append(_top_warning("One or more telemetry sources could not be resolved for this run."))
        elif not has_file_refs:
            top.append(_top_warning("Telemetry mode run resolved no telemetry sources."))
        resolved = has_file_refs and not any(n.unresolved for n in nodes)
    else:
        mode_error = _simulation_error(nodes, model.grid.bins)
        resolved = True
    for n in nodes:
        n.derived = derive_metrics(
            n.node.kind,
            arrivals=n.series.get("arrivals"),
            served=n.series.get("served"),
            capacity=n.series.get("capacity"),
            queue_depth=n.series.get("queueDepth"),
            sla_min=n.node.semantics.sla_min,
            bin_minutes=model.grid.bin_minutes,
            bins=model.grid.bins,
        )
    return RunState(stored, model, nodes, top, top_capture, resolved, mode_error)


# ----------------------------------------------------------------------------------------------- loading


def _load_model(path: Path, run_dir: Path, run_id: str, roots: Sequence[Path]) -> Model:
    """The stored model, validated without reading its source files (their content is not at stake here)."""
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    try:
        return load_model(text, model_dir=run_dir / "model", allowed_roots=roots, read_sources=False)
    except ModelInvalid as exc:
        errors = exc.errors or exc.problems
        parse = next((p for p in errors if p.code in _PARSE_CODES), None)
        if parse is not None:
            raise Conflict(
                f"Model for run '{run_id}' could not be parsed: {parse.message}", code="model_parse_error"
            ) from None
        first = errors[0].message if errors else exc.message
        raise ModelMetadataInvalid(f"Model metadata for run '{run_id}' is invalid: {first}", errors) from None


def _check_metadata(stored: StoredRun) -> None:
    if stored.metadata is None:
        raise _incomplete(stored.run_id, "model/metadata.json is missing")
    if not stored.metadata.get("templateId"):
        raise _incomplete(stored.run_id, "templateId is missing")
    expected = stored.run.get("modelHash")
    reported = stored.metadata.get("modelHash")
    both = isinstance(expected, str) and isinstance(reported, str) and expected and reported
    if both and expected.lower() != reported.lower():  # type: ignore[union-attr]
        raise Conflict(
            f"Provenance hash mismatch for run '{stored.run_id}'. Expected '{expected}' but storage "
            f"reported '{reported}'.",
            code="provenance_mismatch",
        )


def _incomplete(run_id: str, what: str) -> Conflict:
    return Conflict(f"Manifest metadata for run '{run_id}' is incomplete: {what}.", code="manifest_incomplete")


def _series_index(run_dir: Path) -> dict[str, str]:
    """Series id -> bundle-relative path from index.json (empty when missing or unreadable)."""
    entries = (stored_index(run_dir) or {}).get("series")
    out: dict[str, str] = {}
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str) and isinstance(entry.get("path"), str):
            out.setdefault(entry["id"], entry["path"])
    return out


class _SeriesFiles:
    """The run's CSV of a column: via index.json, else ``series/<seriesId>.csv``; never outside the run.

    A file at the usual place is checked with one ``lstat`` once ``series/`` itself is known to be inside
    the run: a regular file there cannot lead out. Anything else (a symlink, another path from index.json)
    gets the full sandbox test, which resolves every component.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.index = _series_index(run_dir)
        self._series_dir_inside: bool | None = None

    def find(self, column: str) -> tuple[str, Path | None]:
        sid = series_id(column)
        usual = f"series/{sid}.csv"
        for relative in (self.index.get(sid), usual):
            if relative is None:
                continue
            path = self.run_dir / relative
            if relative == usual and "/" not in sid and self._usual_dir_inside():
                try:
                    mode = os.lstat(path).st_mode
                except OSError:
                    continue
                if stat.S_ISREG(mode):
                    return sid, path
                if not stat.S_ISLNK(mode):
                    continue
            if is_inside(path, [self.run_dir]) and path.is_file():
                return sid, path
        return sid, None

    def _usual_dir_inside(self) -> bool:
        if self._series_dir_inside is None:
            self._series_dir_inside = is_inside(self.run_dir / "series", [self.run_dir])
        return self._series_dir_inside


def _resolve_node(
    node: TopologyNode,
    model: Model,
    columns: Mapping[str, Column],
    stored: StoredRun,
    files: _SeriesFiles,
    roots: Sequence[Path],
) -> NodeState:
    """Every semantic of the node resolved to a series (``api.md`` §6.2)."""
    state = NodeState(node)
    telemetry = stored.mode == "telemetry"
    refs = node.semantics.refs()
    if node.kind in QUEUE_KINDS and "queueDepth" not in refs:
        column = node.queue_column or f"{snake(node.id)}_queue"
        _, path = files.find(column)
        if path is not None:
            refs["queueDepth"] = column
    bins = model.grid.bins
    for key, _label in SEMANTICS:
        value = refs.get(key)
        if value is None:
            continue
        path, source = None, None
        if value[:5].lower() == "file:":
            try:
                path = Path(resolve_uri(value, model_dir=stored.directory / "model", allowed_roots=roots))
                source = value
            except FlowTimeError:
                path = None
        elif value in columns:
            sid, path = files.find(value)
            column = columns[value]
            const_source = column.source if isinstance(column, ConstColumn) else None
            source = const_source if const_source and const_source[:5].lower() == "file:" else f"series:{sid}"
        if path is not None and path.is_file():
            try:
                read = read_series_csv(path, bins, "lenient", decode=decode_series_csv)
            except FlowTimeError as exc:
                if not telemetry:
                    raise FlowTimeError(
                        f"Failed to load data for node '{node.id}' in run '{stored.run_id}': {exc.message}",
                        code="node_load_failed",
                    ) from None
                path = None
            else:
                state.series[key] = np.asarray(read.values, dtype=np.float64)
                if source is not None and source not in state.sources:
                    state.sources.append(source)
                if telemetry and read.absent:
                    state.missing_bins.append((value, sorted(read.absent)))
                continue
        if telemetry:
            state.series[key] = np.zeros(bins)
            state.unresolved.append(key)
            log_event(
                _LOG,
                "StateTelemetrySourceMissing",
                3003,
                level=logging.WARNING,
                runId=stored.run_id,
                nodeId=node.id,
                semantic=key,
                message=f"Telemetry source missing for node {node.id} in run {stored.run_id}",
            )
    return state


# ----------------------------------------------------------------------------------------- validation


def _simulation_error(nodes: Sequence[NodeState], bins: int) -> FlowTimeError | None:
    """The first node (topology order) lacking a valid required series (``api.md`` §6.3)."""
    for n in nodes:
        required = ["arrivals"]
        if n.node.kind == "service":
            required.append("served")
        if n.node.kind in QUEUE_KINDS:
            required.append("queueDepth")
        labels = dict(SEMANTICS)
        labels["queueDepth"] = "queue"
        present = {k: n.series[k] for k in required if k in n.series and len(n.series[k]) == bins}
        invalid = [labels[k] for k, v in present.items() if not np.isfinite(v).all()]
        if invalid:
            return Unprocessable(
                f"Node '{n.node.id}' contains invalid values for {', '.join(invalid)} in simulation mode.",
                code="mode_validation_failed",
            )
        missing = [labels[k] for k in required if k not in present]
        if missing:
            return Unprocessable(
                f"Node '{n.node.id}' is missing required {', '.join(missing)} series for simulation mode.",
                code="mode_validation_failed",
            )
    return None


def _telemetry_warning(n: NodeState) -> dict[str, Any] | None:
    labels = dict(SEMANTICS)
    unresolved = [labels[k] for k, _ in SEMANTICS if k in n.unresolved]
    invalid = [
        labels[k]
        for k, _ in SEMANTICS
        if k in n.series and k not in n.unresolved and not np.isfinite(n.series[k]).all()
    ]
    if not unresolved and not invalid:
        return None
    parts = []
    if unresolved:
        parts.append(f"unresolved sources for {', '.join(unresolved)}")
    if invalid:
        parts.append(f"invalid values in {', '.join(invalid)}")
    n.sources.clear()
    return {
        "code": "telemetry_sources_unresolved" if unresolved else "telemetry_series_invalid",
        "message": f"Telemetry mode detected {' and '.join(parts)}.",
        "severity": "warning",
        "nodeId": n.node.id,
        "bins": None,
    }


def _top_warning(message: str) -> dict[str, Any]:
    return {
        "code": "telemetry_sources_missing",
        "message": message,
        "severity": "warning",
        "nodeId": None,
        "bins": None,
    }


# --------------------------------------------------------------------------------------------- answers


def _grid_start(model: Model) -> datetime | None:
    if model.grid.start is not None:
        return model.grid.start
    raw_window = model.raw.get("window") if model.raw else None
    if isinstance(raw_window, Mapping):
        return parse_utc(raw_window.get("start"))
    return None


__all__ = ["QUEUE_KINDS", "SEMANTICS", "ModelMetadataInvalid", "NodeState", "RunState", "load_run_state"]
