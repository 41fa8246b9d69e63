"""Capture: the series of a canonical run become a capture bundle of per-node, per-metric CSVs (§2)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from flowtime.artifacts import encode_series_csv, format_utc, json_bytes, sha256_bytes
from flowtime.errors import FlowTimeError
from flowtime.logs import get_logger, log_event
from flowtime.model import SourceError, is_inside, parse_document, read_series_csv
from flowtime.telemetry.bindings import Binding, IndexEntry, index_entries, plan_bindings
from flowtime.telemetry.errors import CaptureExists, CaptureSourceInvalid, RunNotFound
from flowtime.telemetry.gaps import GapMode, ProcessedSeries, apply_gap_policy
from flowtime.telemetry.locks import capture_lock
from flowtime.telemetry.manifest import (
    MANIFEST_NAME,
    CaptureGrid,
    CaptureProvenance,
    CaptureWarning,
    Manifest,
    ManifestFile,
    model_start_text,
    schema_errors,
)
from flowtime.telemetry.staging import Staging, staging_parent

_log = get_logger("telemetry.capture")


@dataclass(frozen=True, slots=True)
class CaptureSource:
    """What capture reads from a run: ids and hashes, the grid, the raw model and the series index."""

    run_dir: Path
    run_id: str
    scenario_hash: str
    model_hash: str | None
    grid: CaptureGrid
    start_time_utc: str | None
    model: Mapping[str, Any]
    entries: tuple[IndexEntry, ...]


@dataclass(frozen=True, slots=True)
class CapturedFile:
    """One bound series, processed and encoded: the CSV bytes to write and their hash."""

    binding: Binding
    data: bytes
    hash: str


@dataclass(frozen=True, slots=True)
class CapturePlan:
    """Everything a capture computes before it writes: files (with their bytes) and warnings in order."""

    source: CaptureSource
    files: tuple[CapturedFile, ...]
    warnings: tuple[CaptureWarning, ...]

    def to_json(self, output_directory: str) -> dict[str, Any]:
        """The dry-run plan of ``telemetry.md`` §2.8."""
        return {
            "runId": self.source.run_id,
            "outputDirectory": output_directory,
            "files": [
                {
                    "nodeId": f.binding.node_id,
                    "metric": f.binding.metric.name,
                    "sourceSeriesId": f.binding.source_series_id,
                    "targetFileName": f.binding.target_file_name,
                }
                for f in self.files
            ],
            "warnings": [w.to_json() for w in self.warnings],
        }

    def file_contents(self) -> list[tuple[str, bytes]]:
        """``(target file name, CSV bytes)`` of every file, in binding order."""
        return [(f.binding.target_file_name, f.data) for f in self.files]

    def manifest(self, captured_at_utc: str) -> Manifest:
        """The manifest these files make, stamped with ``captured_at_utc``."""
        source = self.source
        return Manifest(
            grid=source.grid,
            provenance=CaptureProvenance(
                run_id=source.run_id,
                scenario_hash=source.scenario_hash,
                model_hash=source.model_hash,
                captured_at_utc=captured_at_utc,
            ),
            files=tuple(
                ManifestFile(
                    f.binding.node_id,
                    f.binding.metric.name,
                    f.binding.target_file_name,
                    f.hash,
                    f.binding.points,
                )
                for f in self.files
            ),
            warnings=self.warnings,
            start_time_utc=source.start_time_utc,
        )


@dataclass(frozen=True, slots=True)
class CaptureResult:
    """A finished capture: its plan and, unless it was a dry run, the manifest written."""

    plan: CapturePlan
    manifest: Manifest | None
    output_directory: Path
    dry_run: bool


# ------------------------------------------------------------------------------------------------ read


def read_capture_source(run_dir: Path, *, label: str | None = None) -> CaptureSource:
    """Read the run's ``run.json``, ``series/index.json`` and model, in that order (``telemetry.md`` §2.1).

    ``label`` (default: ``run_dir`` as given) names the run in ``run_not_found``.
    """
    if not run_dir.is_dir():
        raise RunNotFound(f"Run directory '{label or run_dir}' was not found.")
    run = _json_object(run_dir / "run.json")
    if run is None or not _nonblank(run.get("runId")) or not _nonblank(run.get("scenarioHash")):
        raise CaptureSourceInvalid("run.json is missing or invalid.")
    index = _json_object(run_dir / "series" / "index.json")
    grid = _grid(index.get("grid")) if index is not None else None
    series = index.get("series") if index is not None else None
    if grid is None or not isinstance(series, list):
        raise CaptureSourceInvalid("series/index.json is missing or invalid.")
    model = _model(run_dir)
    if model is None:
        raise CaptureSourceInvalid("Canonical spec.yaml not found or unreadable.")
    model_hash = run.get("modelHash")
    return CaptureSource(
        run_dir=run_dir,
        run_id=run["runId"],
        scenario_hash=run["scenarioHash"],
        model_hash=model_hash if _nonblank(model_hash) else None,
        grid=grid,
        start_time_utc=model_start_text(model),
        model=model,
        entries=tuple(index_entries(series, grid.bins)),
    )


def _json_object(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _nonblank(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _grid(value: Any) -> CaptureGrid | None:
    if not isinstance(value, dict):
        return None
    bins, size, unit = value.get("bins"), value.get("binSize"), value.get("binUnit")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in (bins, size)):
        return None
    if not _nonblank(unit):
        return None
    return CaptureGrid(bins, size, unit.strip().lower())


def _model(run_dir: Path) -> Mapping[str, Any] | None:
    for candidate in (run_dir / "spec.yaml", run_dir / "model" / "model.yaml"):
        try:
            data = candidate.read_bytes()
        except OSError:
            continue
        document = parse_document(data)
        if isinstance(document.root, dict) and not any(p.is_error for p in document.problems):
            return document.root
        return None
    return None


# ------------------------------------------------------------------------------------------------ plan


def plan_capture(source: CaptureSource, *, gap_mode: GapMode = "ignore", fill_nan: bool = False) -> CapturePlan:
    """Bind, read and process every series (``telemetry.md`` §2.2–§2.5); nothing is written.

    A missing or rejected series file aborts with ``capture_source_invalid``.
    """
    bindings, warnings = plan_bindings(source.model, source.entries)
    files: list[CapturedFile] = []
    for binding in bindings:
        processed, read_warnings = _read_binding(source.run_dir, binding, gap_mode=gap_mode, fill_nan=fill_nan)
        data = encode_series_csv(processed.values, missing=processed.missing)
        files.append(CapturedFile(binding, data, sha256_bytes(data)))
        warnings.extend(read_warnings)
        warnings.extend(processed.warnings)
    return CapturePlan(source, tuple(files), tuple(warnings))


def _read_binding(
    run_dir: Path, binding: Binding, *, gap_mode: GapMode, fill_nan: bool
) -> tuple[ProcessedSeries, list[CaptureWarning]]:
    name = Path(binding.source_path).name
    path = run_dir / binding.source_path
    if Path(binding.source_path).is_absolute() or not is_inside(path, [run_dir]):
        raise CaptureSourceInvalid(f"Series '{name}' is missing or invalid: its path leaves the run directory.")
    try:
        read = read_series_csv(path, binding.points, "capture", name=name)
    except SourceError as exc:
        raise CaptureSourceInvalid(f"Series '{name}' is missing or invalid: {exc.message}") from exc
    warnings: list[CaptureWarning] = []
    if read.rows != binding.points:
        warnings.append(
            CaptureWarning(
                "length_mismatch",
                f"Series '{name}' contained {read.rows} points but expected {binding.points}.",
                node_id=binding.node_id,
                metric=binding.metric.name,
            )
        )
    missing = np.zeros(binding.points, dtype=bool)
    missing[list(read.missing)] = True
    processed = apply_gap_policy(
        read.values,
        missing,
        node_id=binding.node_id,
        metric=binding.metric.name,
        gap_mode=gap_mode,
        fill_nan=fill_nan,
    )
    return processed, warnings


# ----------------------------------------------------------------------------------------------- write


def capture(
    run_dir: Path,
    output_dir: Path,
    *,
    telemetry_root: Path,
    roots: Sequence[Path] = (),
    dry_run: bool = False,
    gap_mode: GapMode = "ignore",
    fill_nan: bool = False,
    overwrite: bool = False,
    run_label: str | None = None,
    output_label: str | None = None,
    now: datetime | None = None,
) -> CaptureResult:
    """Capture ``run_dir`` into ``output_dir`` (``telemetry.md`` §2), or plan it only with ``dry_run``.

    The write is locked per target and staged (§3.4); an existing ``manifest.json`` without ``overwrite``
    raises ``capture_exists``. ``roots`` are the roots a staging directory may live in (RunsRoot,
    TelemetryRoot); the labels name the run and output in messages; ``now`` is the capture instant.
    """
    source = read_capture_source(run_dir, label=run_label)
    _log_start(source.run_id, output_dir, dry_run=dry_run, gap_mode=gap_mode, fill_nan=fill_nan)
    plan = plan_capture(source, gap_mode=gap_mode, fill_nan=fill_nan)
    log_plan(plan)
    if dry_run:
        _log_completed(plan, dry_run=True)
        return CaptureResult(plan, None, output_dir, dry_run=True)
    captured_at = format_utc(now or datetime.now(UTC))
    manifest = plan.manifest(captured_at)
    with capture_lock(output_dir, telemetry_root):
        ensure_no_capture(output_dir, overwrite=overwrite, label=output_label or str(output_dir))
        write_bundle(plan.file_contents(), manifest, output_dir, roots=roots, overwrite=overwrite)
    _log_completed(plan, dry_run=False)
    return CaptureResult(plan, manifest, output_dir, dry_run=False)


def ensure_no_capture(target: Path, *, overwrite: bool, label: str) -> None:
    """Refuse to replace an existing capture (``manifest.json`` present) unless ``overwrite``."""
    if not overwrite and (target / MANIFEST_NAME).is_file():
        raise CaptureExists(f"Telemetry bundle already exists in '{label}'. Use --overwrite to replace it.")


def manifest_bytes(manifest: Manifest) -> bytes:
    """The manifest file's bytes; a manifest that fails the shipped schema is a bug, never written."""
    doc = manifest.to_json()
    errors = schema_errors(doc)
    if errors:
        raise FlowTimeError(f"Capture manifest failed its schema: {errors[0]}")
    return json_bytes(doc)


def write_bundle(
    files: Sequence[tuple[str, bytes]],
    manifest: Manifest,
    target: Path,
    *,
    roots: Sequence[Path],
    overwrite: bool,
    keep: Sequence[str] = (),
) -> bytes:
    """Stage ``files`` (CSVs, then ``autocapture.json``/``import.json``) and the manifest, then commit them
    into ``target``; returns the manifest bytes. Must be called under the target's capture lock."""
    data = manifest_bytes(manifest)
    with Staging(staging_parent(target, roots)) as staging:
        for name, content in files:
            staging.write(name, content)
        staging.write(MANIFEST_NAME, data)
        staging.commit(target, overwrite=overwrite, keep=keep)
    return data


# ------------------------------------------------------------------------------------------------ logs


def _log_start(run_id: str, output: Path, *, dry_run: bool, gap_mode: str, fill_nan: bool) -> None:
    log_event(
        _log,
        "TelemetryCaptureStart",
        2001,
        message=f"Telemetry capture started for run {run_id}",
        runId=run_id,
        outputDirectory=str(output),
        dryRun=dry_run,
        gapMode=gap_mode,
        fillNaN=fill_nan,
    )


def log_plan(plan: CapturePlan) -> None:
    """Events 2002 (one per file) and 2004 (one per warning) for a computed plan."""
    run_id = plan.source.run_id
    for f in plan.files:
        log_event(
            _log,
            "TelemetryCaptureFile",
            2002,
            message=f"Captured {f.binding.node_id}:{f.binding.metric.name} to {f.binding.target_file_name}",
            runId=run_id,
            nodeId=f.binding.node_id,
            metric=f.binding.metric.name,
            targetFile=f.binding.target_file_name,
        )
    log_warnings(plan.warnings, run_id)


def log_warnings(warnings: Sequence[CaptureWarning], run_id: str) -> None:
    """Event 2004 for each warning: ``Capture warning <code> for <nodeId>:<Metric> - <message>``."""
    for w in warnings:
        log_event(
            _log,
            "TelemetryCaptureWarning",
            2004,
            level=logging.WARNING,
            message=f"Capture warning {w.code} for {w.node_id or '-'}:{w.metric or '-'} - {w.message}",
            runId=run_id,
            code=w.code,
            nodeId=w.node_id,
            metric=w.metric,
            bins=list(w.bins) if w.bins is not None else None,
        )


def _log_completed(plan: CapturePlan, *, dry_run: bool) -> None:
    what = "dry-run complete" if dry_run else "completed"
    log_event(
        _log,
        "TelemetryCaptureCompleted",
        2003,
        message=f"Telemetry capture {what} for run {plan.source.run_id}: "
        f"{len(plan.files)} files, {len(plan.warnings)} warnings",
        runId=plan.source.run_id,
        fileCount=len(plan.files),
        warningCount=len(plan.warnings),
        dryRun=dry_run,
    )
