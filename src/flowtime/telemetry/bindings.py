"""Which run series a capture writes, and under which file names (``telemetry.md`` §2.2–§2.3)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flowtime.telemetry.manifest import CaptureWarning
from flowtime.telemetry.metrics import METRICS, QUEUE_DEPTH, Metric, semantic_value
from flowtime.telemetry.rewrite import is_queue_kind, synthesized_queue_id

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_external_demand", "ExternalDemand"),
    ("_externaldemand", "ExternalDemand"),
    ("_queue_depth", "QueueDepth"),
    ("_queuedepth", "QueueDepth"),
    ("_arrivals", "Arrivals"),
    ("_capacity", "Capacity"),
    ("_served", "Served"),
    ("_errors", "Errors"),
    ("_queue", "QueueDepth"),
)
_BY_NAME = {m.name: m for m in METRICS}


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One ``series/index.json`` entry, as capture needs it."""

    id: str
    path: str
    points: int

    @property
    def node_key(self) -> str:
        """The part of the series id before the first ``@``: the column the series was written for."""
        return self.id.split("@", 1)[0]


@dataclass(frozen=True, slots=True)
class Binding:
    """One run series bound to one capture file."""

    node_id: str
    metric: Metric
    source_series_id: str
    source_path: str
    points: int
    target_file_name: str


def index_entries(series: Sequence[Any], bins: int) -> list[IndexEntry]:
    """Entries of ``series/index.json`` ``series[]``: ``points`` ≤ 0 or absent means ``bins``; entries
    without a string id are skipped; a missing ``path`` falls back to ``series/<id>.csv``."""
    out: list[IndexEntry] = []
    for item in series:
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str) or not item["id"]:
            continue
        path = item.get("path")
        points = item.get("points")
        count = points if isinstance(points, int) and not isinstance(points, bool) and points > 0 else bins
        out.append(IndexEntry(item["id"], path if isinstance(path, str) else f"series/{item['id']}.csv", count))
    return out


def default_file_name(node_id: str, metric: Metric) -> str:
    """``<nodeId>_<metric lower>.csv`` with every character outside ``[A-Za-z0-9._-]`` replaced by ``_``."""
    return f"{_UNSAFE.sub('_', node_id)}_{metric.file_suffix}.csv"


def is_plain_file_name(name: str) -> bool:
    """The alias test of ``model.md`` §5: non-empty, no ``/`` or ``\\``, not starting with ``.``."""
    return bool(name) and "/" not in name and "\\" not in name and not name.startswith(".")


def binding_duplicate(node_id: str, metric: Metric) -> CaptureWarning:
    """The warning for a series whose file name (alias and default) is already taken, case-insensitively."""
    return CaptureWarning(
        "binding_duplicate",
        f"No free file name for {node_id}:{metric.name}; binding skipped.",
        node_id=node_id,
        metric=metric.name,
    )


def plan_bindings(raw: Mapping[str, Any], entries: Sequence[IndexEntry]) -> tuple[list[Binding], list[CaptureWarning]]:
    """The bindings of a run, in order, and the warnings met while choosing them (``alias_invalid``,
    ``binding_duplicate``) in the order they arose."""
    warnings: list[CaptureWarning] = []
    aliases = _alias_map(raw.get("outputs"), warnings)
    index: dict[str, IndexEntry] = {}
    for entry in entries:
        index.setdefault(entry.node_key.casefold(), entry)
    candidates = _primary(raw.get("topology"), index) or _fallback(aliases, index)
    bindings: list[Binding] = []
    taken: set[str] = set()
    for node_id, metric, entry in candidates:
        alias = aliases.get(entry.node_key.casefold())
        default = default_file_name(node_id, metric)
        target = alias if alias is not None and alias.casefold() not in taken else default
        if target.casefold() in taken:
            warnings.append(binding_duplicate(node_id, metric))
            continue
        taken.add(target.casefold())
        bindings.append(Binding(node_id, metric, entry.id, entry.path, entry.points, target))
    return bindings, warnings


def _alias_map(outputs: Any, warnings: list[CaptureWarning]) -> dict[str, str]:
    """Output aliases by case-folded series id (index keys match case-insensitively), ``.csv`` appended."""
    aliases: dict[str, str] = {}
    for output in outputs if isinstance(outputs, list) else ():
        if not isinstance(output, Mapping):
            continue
        series = _text(output.get("series"))
        alias = _text(output.get("as"))
        if series is None or alias is None or series == "*" or series.endswith("/*") or series.casefold() in aliases:
            continue
        if not is_plain_file_name(alias):
            warnings.append(
                CaptureWarning(
                    "alias_invalid",
                    f"Output alias '{alias}' for series '{series}' is not a plain file name; default name used.",
                    node_id=series,
                )
            )
            continue
        aliases[series.casefold()] = alias if alias.lower().endswith(".csv") else alias + ".csv"
    return aliases


def _primary(topology: Any, index: Mapping[str, IndexEntry]) -> list[tuple[str, Metric, IndexEntry]]:
    nodes = topology.get("nodes") if isinstance(topology, Mapping) else None
    found: list[tuple[str, Metric, IndexEntry]] = []
    for node in nodes if isinstance(nodes, list) else ():
        node_id = _text(node.get("id")) if isinstance(node, Mapping) else None
        if node_id is None:
            continue
        semantics = node.get("semantics")
        for metric in METRICS:
            value = semantic_value(semantics, metric)
            if value is None and metric is QUEUE_DEPTH and is_queue_kind(node.get("kind")):
                value = synthesized_queue_id(node_id)
            entry = index.get(value.casefold()) if value is not None else None
            if entry is not None:
                found.append((node_id, metric, entry))
    return found


def _fallback(aliases: Mapping[str, str], index: Mapping[str, IndexEntry]) -> list[tuple[str, Metric, IndexEntry]]:
    """Metric and node id read from each alias's ``<nodeId>_<metric>`` stem, used when the topology binds nothing."""
    found: list[tuple[str, Metric, IndexEntry]] = []
    for series, alias in aliases.items():
        entry = index.get(series)
        if entry is None:
            continue
        stem = alias[:-4]
        lowered = stem.lower()
        for suffix, metric_name in _SUFFIXES:
            if lowered.endswith(suffix) and len(stem) > len(suffix):
                found.append((stem[: -len(suffix)], _BY_NAME[metric_name], entry))
                break
    return found


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, bool | Mapping | list):
        return None
    text = str(value).strip()
    return text or None
