"""What responses say about a stored run: its files, metadata block, grid, parameters and warnings."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from flowtime.errors import FlowTimeError
from flowtime.model import parse_document, resolve_uri

RUN_FILE = "run.json"
MODEL_FILE = "model/model.yaml"
SPEC_FILE = "spec.yaml"
METADATA_FILE = "model/metadata.json"
PROVENANCE_FILE = "model/provenance.json"
MANIFEST_FILE = "manifest.json"
INDEX_FILE = "series/index.json"
TELEMETRY_MANIFEST_FILE = "model/telemetry/telemetry-manifest.json"


class Unreadable(Exception):
    """A JSON file exists but is not a readable JSON document (the caller picks the coded error)."""


def read_json(path: Path) -> Any:
    """A JSON document, BOM tolerated (``artifacts.md`` §16); None when the file does not exist."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise Unreadable(path.name) from exc
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Unreadable(path.name) from exc


def read_json_object(path: Path) -> dict[str, Any] | None:
    """A JSON object or None (missing); another JSON type counts as unreadable."""
    value = read_json(path)
    if value is not None and not isinstance(value, dict):
        raise Unreadable(path.name)
    return value


def stored_index(run_dir: Path) -> dict[str, Any] | None:
    """``series/index.json`` as an object; None when it is missing or unreadable."""
    try:
        return read_json_object(run_dir / INDEX_FILE)
    except Unreadable:
        return None


def is_run_directory(path: Path) -> bool:
    """A run is a directory with ``run.json`` and ``model/`` (``api.md`` §4.5)."""
    return (path / RUN_FILE).is_file() and (path / "model").is_dir()


def model_file(run_dir: Path) -> Path | None:
    """``model/model.yaml``, else the root ``spec.yaml`` of older bundles."""
    for name in (MODEL_FILE, SPEC_FILE):
        if (run_dir / name).is_file():
            return run_dir / name
    return None


@dataclass(frozen=True, slots=True)
class StoredRun:
    """The JSON files of one run directory, read once; ``model_root`` is the parsed model mapping."""

    run_id: str
    directory: Path
    run: Mapping[str, Any]
    metadata: Mapping[str, Any] | None
    manifest: Mapping[str, Any] | None
    telemetry_manifest: Mapping[str, Any] | None
    model_root: Mapping[str, Any] | None

    @property
    def mode(self) -> str:
        value = (self.metadata or {}).get("mode") or (self.model_root or {}).get("mode") or "simulation"
        return str(value).strip().lower()

    @property
    def created(self) -> str | None:
        value = self.run.get("createdUtc")
        return value if isinstance(value, str) else None

    def capture_warnings(self) -> list[dict[str, Any]]:
        """Telemetry-manifest warnings in manifest order (empty when there is no usable manifest)."""
        warnings = (self.telemetry_manifest or {}).get("warnings")
        return [w for w in warnings if isinstance(w, dict)] if isinstance(warnings, list) else []


def open_stored_run(
    run_dir: Path, run_id: str, *, with_model: bool, model_root: Mapping[str, Any] | None = None
) -> StoredRun:
    """Read run.json, metadata.json, manifest.json and the telemetry manifest; ``Unreadable`` if corrupt.

    A corrupt telemetry manifest reads as absent (``telemetry.md`` §5); the model is parsed only when
    asked, since listings never need it, and not at all when the caller has it already (``model_root``,
    the parsed mapping of the run's model file: ``Model.raw``).
    """
    run = read_json_object(run_dir / RUN_FILE)
    if run is None:
        raise Unreadable(RUN_FILE)
    metadata = read_json_object(run_dir / METADATA_FILE)
    try:
        manifest = read_json_object(run_dir / MANIFEST_FILE)
    except Unreadable:
        manifest = None
    try:
        telemetry_manifest = read_json_object(run_dir / TELEMETRY_MANIFEST_FILE)
    except Unreadable:
        telemetry_manifest = None
    root = model_root
    if with_model and root is None:
        path = model_file(run_dir)
        if path is not None:
            document = parse_document(path.read_bytes())
            root = document.root if isinstance(document.root, dict) else None
    return StoredRun(run_id, run_dir, run, metadata, manifest, telemetry_manifest, root)


def provenance_hash(stored: StoredRun) -> str | None:
    """metadata.json ``modelHash``, else the SHA-256 of the stored model text."""
    value = (stored.metadata or {}).get("modelHash")
    if isinstance(value, str) and value:
        return value
    path = model_file(stored.directory)
    if path is None:
        return None
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def metadata_block(stored: StoredRun, *, resolved: bool, full: bool) -> dict[str, Any]:
    """The ``metadata`` member of run and state answers (``api.md`` §4.3); ``full`` adds rng, createdUtc."""
    meta = stored.metadata or {}
    model_meta = (stored.model_root or {}).get("metadata")
    model_meta = model_meta if isinstance(model_meta, dict) else {}
    template_id = _text(meta.get("templateId")) or _text(model_meta.get("id"))
    digest = provenance_hash(stored)
    schema_version = meta.get("schemaVersion") or (stored.model_root or {}).get("schemaVersion") or 1
    provenance = stored.directory / PROVENANCE_FILE
    block: dict[str, Any] = {
        "runId": stored.run_id,
        "templateId": template_id,
        "templateTitle": _text(meta.get("templateTitle")) or _text(model_meta.get("title")) or template_id,
        "templateVersion": _text(meta.get("templateVersion")) or _text(model_meta.get("version")),
        "mode": stored.mode,
        "provenanceHash": digest,
        "telemetrySourcesResolved": resolved,
        "schema": {"id": f"time-travel/v{schema_version}", "version": "1", "hash": digest},
        "storage": {
            "modelPath": str(model_file(stored.directory) or stored.directory / MODEL_FILE),
            "metadataPath": str(stored.directory / METADATA_FILE),
            "provenancePath": str(provenance) if provenance.is_file() else None,
        },
    }
    if full:
        rng = (stored.manifest or {}).get("rng")
        block["rng"] = rng if isinstance(rng, dict) else None
        block["createdUtc"] = stored.created
    return block


def file_references(root: Mapping[str, Any] | None) -> list[str]:
    """Every ``file:`` value among const ``source``s and topology semantics, in document order."""
    if not root:
        return []
    refs: list[str] = []
    nodes = root.get("nodes")
    for node in nodes if isinstance(nodes, list) else []:
        if isinstance(node, dict) and _is_file_uri(node.get("source")):
            refs.append(node["source"])
    topology = root.get("topology")
    topo_nodes = topology.get("nodes") if isinstance(topology, dict) else None
    for node in topo_nodes if isinstance(topo_nodes, list) else []:
        semantics = node.get("semantics") if isinstance(node, dict) else None
        if isinstance(semantics, dict):
            refs.extend(v for v in semantics.values() if _is_file_uri(v))
    return refs


def sources_resolved(stored: StoredRun, roots: Sequence[Path]) -> bool:
    """Simulation runs: true. Telemetry runs: ≥ 1 ``file:`` reference and every one an existing file."""
    if stored.mode != "telemetry":
        return True
    refs = file_references(stored.model_root)
    return bool(refs) and all(_resolves(ref, stored.directory / "model", roots) for ref in refs)


def can_replay(stored: StoredRun, resolved: bool) -> bool:
    required = (MODEL_FILE, METADATA_FILE, TELEMETRY_MANIFEST_FILE)
    return resolved and all((stored.directory / name).is_file() for name in required)


def run_grid(stored: StoredRun) -> dict[str, Any] | None:
    """run.json grid as ``{bins, binSize, binUnit}``."""
    grid = stored.run.get("grid")
    if not isinstance(grid, dict):
        return None
    unit = grid.get("binUnit")
    return {
        "bins": grid.get("bins"),
        "binSize": grid.get("binSize"),
        "binUnit": unit.lower() if isinstance(unit, str) else unit,
    }


def display_parameters(parameters: Any) -> dict[str, Any]:
    """metadata.json parameters in stored order, ``file:`` URIs shown as ``file://telemetry/<name>``."""
    if not isinstance(parameters, dict):
        return {}
    return {k: display_value(v) for k, v in parameters.items()}


def display_value(value: Any) -> Any:
    if _is_file_uri(value):
        name = PurePosixPath(value.split(":", 1)[1].replace("\\", "/")).name
        return f"file://telemetry/{name}"
    return value


def run_warnings(stored: StoredRun) -> list[dict[str, Any]]:
    """run.json warnings (strings, or objects with a message) as info-level ``run_warning`` items."""
    warnings = stored.run.get("warnings")
    out: list[dict[str, Any]] = []
    for item in warnings if isinstance(warnings, list) else []:
        message = item.get("message") if isinstance(item, dict) else item
        if isinstance(message, str) and message:
            out.append({"code": "run_warning", "message": message, "severity": "info", "nodeId": None, "bins": None})
    return out


def capture_warning(warning: Mapping[str, Any], *, with_bins: bool) -> dict[str, Any]:
    """A telemetry-manifest warning in response form (``severity: warning``)."""
    item: dict[str, Any] = {
        "code": warning.get("code"),
        "message": warning.get("message"),
        "severity": "warning",
        "nodeId": warning.get("nodeId"),
    }
    if with_bins:
        bins = warning.get("bins")
        item["bins"] = [b for b in bins if isinstance(b, int)] if isinstance(bins, list) else None
    return item


def _resolves(ref: str, model_dir: Path, roots: Sequence[Path]) -> bool:
    try:
        return Path(resolve_uri(ref, model_dir=model_dir, allowed_roots=roots)).is_file()
    except FlowTimeError:
        return False


def _is_file_uri(value: Any) -> bool:
    return isinstance(value, str) and value[:5].lower() == "file:"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text or None


__all__ = [
    "StoredRun",
    "Unreadable",
    "can_replay",
    "capture_warning",
    "display_parameters",
    "file_references",
    "is_run_directory",
    "metadata_block",
    "model_file",
    "open_stored_run",
    "read_json",
    "read_json_object",
    "run_grid",
    "run_warnings",
    "sources_resolved",
    "stored_index",
]
