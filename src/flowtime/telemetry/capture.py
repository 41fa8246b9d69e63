"""Capture: the series of a canonical run become a capture bundle of per-node, per-metric CSVs (§2)."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from flowtime.artifacts import (
    INDEX_FILE,
    MODEL_FILE,
    RUN_FILE,
    SPEC_FILE,
    decode_series_csv,
    encode_series_csv,
    format_utc,
    json_bytes,
    model_start_text,
    sha256_bytes,
)
from flowtime.errors import FlowTimeError
from flowtime.logs import get_logger, log_event
from flowtime.model import SourceError, is_inside, parse_document, read_series_csv
from flowtime.model.values import as_integer
from flowtime.telemetry.bindings import Binding, IndexEntry, index_entries, plan_bindings
from flowtime.telemetry.documents import nonblank, read_json_object
from flowtime.telemetry.errors import CaptureExists, CaptureSourceInvalid, InvalidOutput, RunNotFound
from flowtime.telemetry.gaps import GapMode, ProcessedSeries, apply_gap_policy
from flowtime.telemetry.locks import capture_lock
from flowtime.telemetry.manifest import (
    MANIFEST_NAME,
    CaptureGrid,
    CaptureProvenance,
    CaptureWarning,
    Manifest,
    ManifestFile,
    schema_errors,
)
from flowtime.telemetry.staging import Staging, staging_parent

_log = get_logger("telemetry.capture")
_HASH = re.compile(r"sha256:[0-9a-fA-F]{64}")


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

    ``label`` (default: ``run_dir`` as given) names the run in ``run_not_found``. Hashes that a manifest
    cannot carry (not ``sha256:`` and 64 hex digits) make ``run.json`` invalid, like a missing one.
    """
    if not run_dir.is_dir():
        raise RunNotFound(f"Run directory '{label or run_dir}' was not found.")
    run = read_json_object(run_dir / RUN_FILE) or {}
    run_id, scenario_hash = nonblank(run.get("runId")), _hash(run.get("scenarioHash"))
    model_hash = run.get("modelHash")
    if run_id is None or scenario_hash is None or (model_hash is not None and _hash(model_hash) is None):
        raise CaptureSourceInvalid("run.json is missing or invalid.")
    index = read_json_object(run_dir / INDEX_FILE) or {}
    grid = _grid(index.get("grid"))
    series = index.get("series")
    if grid is None or not isinstance(series, list):
        raise CaptureSourceInvalid("series/index.json is missing or invalid.")
    model = _model(run_dir)
    if model is None:
        raise CaptureSourceInvalid("Canonical spec.yaml not found or unreadable.")
    return CaptureSource(
        run_dir=run_dir,
        run_id=run_id,
        scenario_hash=scenario_hash,
        model_hash=_hash(model_hash),
        grid=grid,
        start_time_utc=model_start_text(model),
        model=model,
        entries=tuple(index_entries(series, grid.bins)),
    )


def _hash(value: Any) -> str | None:
    """A ``sha256:<64 hex>`` hash in the lower-case form manifests require; None for anything else."""
    return value.strip().lower() if isinstance(value, str) and _HASH.fullmatch(value.strip()) else None


def _grid(value: Any) -> CaptureGrid | None:
    if not isinstance(value, dict):
        return None
    bins, size, unit = as_integer(value.get("bins")), as_integer(value.get("binSize")), nonblank(value.get("binUnit"))
    if bins is None or size is None or unit is None or bins < 1 or size < 1:
        return None
    return CaptureGrid(bins, size, unit.strip().lower())


def _model(run_dir: Path) -> Mapping[str, Any] | None:
    for candidate in (run_dir / SPEC_FILE, run_dir / MODEL_FILE):
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
        read = read_series_csv(path, binding.points, "capture", name=name, decode=decode_series_csv)
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
    run: Path | CaptureSource,
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
    """Capture the run directory ``run`` (or its source, already read) into ``output_dir`` (``telemetry.md``
    §2), or plan it only with ``dry_run``.

    The write is locked per target and staged (§3.4); an existing ``manifest.json`` without ``overwrite``
    raises ``capture_exists`` before any series is read. ``roots`` are the roots a staging directory may
    live in (RunsRoot, TelemetryRoot); the labels name the run and output in messages; ``now`` is the
    capture instant.
    """
    source = run if isinstance(run, CaptureSource) else read_capture_source(run, label=run_label)
    label = output_label or str(output_dir)
    if not dry_run:
        ensure_no_capture(output_dir, overwrite=overwrite, label=label)
    log_capture_start(source.run_id, output_dir, dry_run=dry_run, gap_mode=gap_mode, fill_nan=fill_nan)
    plan = plan_capture(source, gap_mode=gap_mode, fill_nan=fill_nan)
    log_plan(plan)
    if dry_run:
        log_capture_completed(plan, dry_run=True)
        return CaptureResult(plan, None, output_dir, dry_run=True)
    captured_at = format_utc(now or datetime.now(UTC))
    manifest = plan.manifest(captured_at)
    with capture_lock(output_dir, telemetry_root):
        ensure_no_capture(output_dir, overwrite=overwrite, label=label)
        write_bundle(plan.file_contents(), manifest, output_dir, roots=roots, overwrite=overwrite)
    log_capture_completed(plan, dry_run=False)
    return CaptureResult(plan, manifest, output_dir, dry_run=False)


def ensure_no_capture(target: Path, *, overwrite: bool, label: str) -> None:
    """Refuse a run directory as a target, and an existing capture (``manifest.json``) unless ``overwrite``."""
    refuse_run_directory(target, label=label)
    if not overwrite and (target / MANIFEST_NAME).is_file():
        raise CaptureExists(f"Telemetry bundle already exists in '{label}'. Use --overwrite to replace it.")


def refuse_run_directory(target: Path, *, label: str) -> None:
    """A run's own directory (it holds ``run.json``) never receives a bundle: its ``manifest.json`` would be
    taken for a capture, and an overwrite would delete the run's files."""
    if (target / RUN_FILE).is_file():
        raise InvalidOutput(
            f"Output directory '{label}' is a run directory; write the bundle to a directory of its own."
        )


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


def log_capture_start(run_id: str, output: Path, *, dry_run: bool, gap_mode: str, fill_nan: bool) -> None:
    """Event 2001: the capture pipeline starts (also inside a generation, ``telemetry.md`` §3.1 step 6)."""
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


def log_capture_completed(plan: CapturePlan, *, dry_run: bool) -> None:
    """Event 2003: the plan was computed (dry run) or its bundle committed."""
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
