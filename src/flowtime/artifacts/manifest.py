"""The JSON documents of a run bundle — run.json, index.json, manifest.json, metadata.json, provenance.json —
as ordered mappings whose key order is the order of the ``artifacts.md`` tables (§7–§11)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import yaml

from flowtime.artifacts.layout import DEFAULT_CLASS, SCHEMA_VERSION, component_id, series_id, series_path
from flowtime.artifacts.numbers import format_double
from flowtime.errors import Problem
from flowtime.model.spec import Grid, Model

RNG_KIND = "pcg32"
DEFAULT_SEED = 123
ADHOC_TEMPLATE_ID = "adhoc-model"
DEFAULT_TEMPLATE_VERSION = "0.0.0"
FLOW_UNIT = "entities/bin"
STATE_UNIT = "entities"

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NULL_TAG = "tag:yaml.org,2002:null"


@dataclass(frozen=True, slots=True)
class SeriesEntry:
    """One written series as index.json describes it (§8)."""

    column: str
    id: str
    kind: str  # "flow" | "state"
    path: str
    unit: str
    component_id: str
    class_id: str
    points: int
    hash: str

    @classmethod
    def for_column(cls, column: str, *, state: bool, points: int, hash_: str) -> SeriesEntry:
        sid = series_id(column)
        return cls(
            column=column,
            id=sid,
            kind="state" if state else "flow",
            path=series_path(sid),
            unit=STATE_UNIT if state else FLOW_UNIT,
            component_id=component_id(column),
            class_id=DEFAULT_CLASS,
            points=points,
            hash=hash_,
        )


def warning_lines(problems: Iterable[Problem]) -> list[str]:
    """run.json ``warnings``: ``"<code>: <message>"`` in first-occurrence order, duplicates removed."""
    return list(dict.fromkeys(f"{p.code}: {p.message}" for p in problems))


def run_document(
    *,
    run_id: str,
    engine_version: str,
    grid: Grid,
    model_hash: str,
    scenario_hash: str,
    created_utc: str,
    warnings: Sequence[str],
    series: Sequence[SeriesEntry],
) -> dict[str, Any]:
    """run.json (§7)."""
    return {
        "schemaVersion": SCHEMA_VERSION,
        "runId": run_id,
        "engineVersion": engine_version,
        "source": "engine",
        "grid": {
            "bins": grid.bins,
            "binSize": grid.bin_size,
            "binUnit": grid.bin_unit,
            "timezone": "UTC",
            "align": "left",
        },
        "modelHash": model_hash,
        "scenarioHash": scenario_hash,
        "createdUtc": created_utc,
        "warnings": list(warnings),
        "series": [{"id": s.id, "path": s.path, "unit": s.unit} for s in series],
    }


def index_document(grid: Grid, series: Sequence[SeriesEntry]) -> dict[str, Any]:
    """series/index.json (§8); no timestamps, so reruns of a scenario give identical bytes."""
    return {
        "schemaVersion": SCHEMA_VERSION,
        "grid": {"bins": grid.bins, "binSize": grid.bin_size, "binUnit": grid.bin_unit, "timezone": "UTC"},
        "series": [
            {
                "id": s.id,
                "kind": s.kind,
                "path": s.path,
                "unit": s.unit,
                "componentId": s.component_id,
                "class": s.class_id,
                "points": s.points,
                "hash": s.hash,
            }
            for s in series
        ],
    }


def rng_document(seed: int) -> dict[str, Any]:
    return {"kind": RNG_KIND, "seed": int(seed)}


def manifest_document(
    *,
    scenario_hash: str,
    seed: int,
    series: Sequence[SeriesEntry],
    created_utc: str,
    model_hash: str,
    provenance: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """manifest.json (§9); ``provenance`` is omitted when none was recorded."""
    document: dict[str, Any] = {
        "schemaVersion": SCHEMA_VERSION,
        "scenarioHash": scenario_hash,
        "rng": rng_document(seed),
        "seriesHashes": {s.id: s.hash for s in series},
        "eventCount": 0,
        "createdUtc": created_utc,
        "modelHash": model_hash,
    }
    if provenance is not None:
        document["provenance"] = {
            "hasProvenance": True,
            "modelId": scalar_text(provenance.get("modelId")),
            "templateId": scalar_text(provenance.get("templateId")),
        }
    return document


def metadata_document(
    *,
    model: Model,
    spec_text: str,
    provenance: Mapping[str, Any] | None,
    forced_mode: str | None,
    model_hash: str,
    received_utc: str,
    seed: int,
    replaced_nodes: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """model/metadata.json (§10): each field from the first source that has it."""
    prov = provenance or {}
    authored = _authored_metadata(model, spec_text)
    template_id = authored.get("id") or _text_of(prov, "templateId") or ADHOC_TEMPLATE_ID
    mode = forced_mode or _text_of(prov, "mode") or model.mode or "simulation"
    generated = prov.get("generatedAt")
    if generated is None:
        generated = prov.get("generatedAtUtc")
    parameters = prov.get("parameters")
    document: dict[str, Any] = {
        "schemaVersion": SCHEMA_VERSION,
        "templateId": template_id,
        "templateTitle": authored.get("title") or _text_of(prov, "templateTitle") or template_id,
        "templateVersion": authored.get("version") or _text_of(prov, "templateVersion") or DEFAULT_TEMPLATE_VERSION,
        "mode": mode.strip().lower(),
        "modelHash": model_hash,
        "source": _text_of(prov, "source"),
        "generator": _text_of(prov, "generator"),
        "modelId": _text_of(prov, "modelId"),
        "generatedAtUtc": scalar_text(generated),
        "receivedAtUtc": received_utc,
        "parameters": plain(parameters) if isinstance(parameters, Mapping) else {},
        "rng": rng_document(seed),
    }
    if replaced_nodes is not None:
        document["replacedNodes"] = plain(replaced_nodes)
    return document


def provenance_document(provenance: Mapping[str, Any], *, received_utc: str) -> dict[str, Any]:
    """model/provenance.json (§11): the known keys in table order, ``null`` when absent; others dropped."""
    parameters = provenance.get("parameters")
    links = provenance.get("links")
    generated = provenance.get("generatedAt")
    if generated is None:
        generated = provenance.get("generatedAtUtc")
    document: dict[str, Any] = {
        "source": _text_of(provenance, "source"),
        "modelId": _text_of(provenance, "modelId"),
        "templateId": _text_of(provenance, "templateId"),
        "templateVersion": _text_of(provenance, "templateVersion"),
        "templateTitle": _text_of(provenance, "templateTitle"),
        "generatedAt": scalar_text(generated),
        "receivedAt": received_utc,
        "generator": _text_of(provenance, "generator"),
        "parameters": plain(parameters) if isinstance(parameters, Mapping) else None,
        "links": ({str(k): scalar_text(v) for k, v in links.items()} if isinstance(links, Mapping) else None),
    }
    if provenance.get("mode") is not None:
        document["mode"] = scalar_text(provenance["mode"])
    return document


def scalar_text(value: Any) -> str | None:
    """A scalar as JSON string text: booleans lower-case, doubles by §5.2; None stays None."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return format_double(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)


def plain(value: Any) -> Any:
    """``value`` with only JSON types: mappings (string keys, order kept), lists, str, numbers, bool, None."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Mapping):
        return {k if isinstance(k, str) else str(scalar_text(k)): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return plain(value.item())
    return scalar_text(value)


def _text_of(mapping: Mapping[str, Any], key: str) -> str | None:
    """A non-blank scalar as text, else None (blank and structured values do not count as present)."""
    value = mapping.get(key)
    if isinstance(value, (Mapping, list, tuple)):
        return None
    text = scalar_text(value)
    return text if text is not None and text.strip() else None


def _authored_metadata(model: Model, spec_text: str) -> dict[str, str]:
    """``metadata.id/title/version`` as written in the model: non-string scalars keep their source text
    (``version: 1.10`` is ``"1.10"``, not ``"1.1"``)."""
    found: dict[str, str] = {}
    needs_source = False
    for key in ("id", "title", "version"):
        value = model.metadata.get(key)
        if isinstance(value, str):
            if value.strip():
                found[key] = value
        elif value is not None and not isinstance(value, (Mapping, list, tuple)):
            needs_source = True
    if needs_source:
        for key, text in _metadata_source_texts(spec_text).items():
            found.setdefault(key, text)
    return found


def _metadata_source_texts(spec_text: str) -> dict[str, str]:
    try:
        root = yaml.compose(spec_text, Loader=_Loader)
    except (yaml.YAMLError, RecursionError):
        return {}
    metadata = _child(root, "metadata")
    texts: dict[str, str] = {}
    for key in ("id", "title", "version"):
        node = _child(metadata, key)
        if isinstance(node, yaml.ScalarNode) and node.tag != _NULL_TAG and node.value.strip():
            texts[key] = node.value
    return texts


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node  # type: ignore[no-any-return]
    return None
