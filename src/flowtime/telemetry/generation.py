"""Explicit telemetry generation: capture a simulation run into a locked, staged bundle (§3)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from flowtime.artifacts import (
    MANIFEST_FILE,
    METADATA_FILE,
    MODEL_DIR,
    RUN_FILE,
    format_utc,
    fsync_directory,
    json_bytes,
    run_lock,
    validate_run_id,
)
from flowtime.errors import FlowTimeError, WriteFailed
from flowtime.logs import get_logger, log_event
from flowtime.model import is_inside
from flowtime.telemetry.autocapture import AUTOCAPTURE_NAME, autocapture_document
from flowtime.telemetry.availability import RUN_MANIFEST_NAME, run_telemetry_dir
from flowtime.telemetry.capture import (
    log_capture_completed,
    log_capture_start,
    log_plan,
    plan_capture,
    read_capture_source,
    refuse_run_directory,
    write_bundle,
)
from flowtime.telemetry.catalog import validate_capture_key
from flowtime.telemetry.documents import nonblank, read_json_object
from flowtime.telemetry.errors import (
    CaptureEmpty,
    CaptureExists,
    CaptureFailed,
    CaptureInProgress,
    CaptureSourceInvalid,
    InvalidOutput,
    PathOutsideRoots,
    RunNotFound,
)
from flowtime.telemetry.locks import capture_lock
from flowtime.telemetry.manifest import MANIFEST_NAME

_log = get_logger("telemetry.generation")

TargetKind = Literal["run", "captureKey", "directory"]


@dataclass(frozen=True, slots=True)
class GenerationResult:
    """The ``capture`` block of ``POST /v1/telemetry/captures`` answers (``api.md`` §5)."""

    generated: bool
    already_exists: bool
    generated_at_utc: str | None
    source_run_id: str | None
    capture_key: str | None
    warnings: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "generated": self.generated,
            "alreadyExists": self.already_exists,
            "generatedAtUtc": self.generated_at_utc,
            "sourceRunId": self.source_run_id,
            "captureKey": self.capture_key,
            "warnings": list(self.warnings),
        }


class CaptureAlreadyExists(CaptureExists):
    """``capture_exists`` from the generation service; ``capture`` is the 409 body's ``capture`` block."""

    def __init__(self, message: str, capture: GenerationResult) -> None:
        super().__init__(message, generated_at_utc=capture.generated_at_utc, source_run_id=capture.source_run_id)
        self.capture = capture

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "capture": self.capture.to_json()}


@dataclass(frozen=True, slots=True)
class _Target:
    path: Path
    kind: TargetKind


def generate_capture(
    run_id: str,
    *,
    runs_root: Path,
    telemetry_root: Path,
    allowed_roots: Sequence[Path] = (),
    capture_key: str | None = None,
    directory: str | None = None,
    overwrite: bool = False,
    now: datetime | None = None,
) -> GenerationResult:
    """Generate the capture bundle of simulation run ``run_id`` (``telemetry.md`` §3.1).

    The target is ``<TelemetryRoot>/<capture_key>``, ``directory`` (inside an allowed root; relative to
    TelemetryRoot) or, by default, the run's own ``model/telemetry``. Raises ``invalid_run_id``,
    ``run_not_found``, ``capture_source_invalid``, ``invalid_output``, ``invalid_capture_key``,
    ``path_outside_roots``, ``capture_in_progress``, ``capture_exists`` (``CaptureAlreadyExists`` with the
    stored time and source run), ``capture_empty`` or ``capture_failed``.
    """
    validate_run_id(run_id)
    run_dir = runs_root / run_id
    if not (run_dir / MODEL_DIR).is_dir():
        raise RunNotFound(f"Run '{run_id}' not found.")
    metadata = read_json_object(run_dir / METADATA_FILE) or {}
    template_id = metadata.get("templateId") if isinstance(metadata.get("templateId"), str) else None
    mode = metadata.get("mode")
    if not isinstance(mode, str) or mode.strip().lower() != "simulation":
        raise CaptureSourceInvalid(f"Run '{run_id}' is a telemetry run; only simulation runs can be captured.")
    target = _resolve_target(run_dir, capture_key, directory, runs_root, telemetry_root, allowed_roots)
    fields = {"runId": run_id, "templateId": template_id, "captureKey": capture_key}
    log_event(
        _log,
        "TelemetryGenerationStart",
        2101,
        message=f"Telemetry generation started for run {run_id}",
        target=target.kind,
        overwrite=overwrite,
        **fields,
    )
    started = time.monotonic()
    try:
        with capture_lock(target.path, telemetry_root):
            _check_existing(target, capture_key, overwrite, fields)
            result, file_count = _generate(
                run_dir, target, metadata, capture_key, overwrite, now, runs_root, telemetry_root, fields
            )
    except CaptureInProgress:
        log_event(
            _log,
            "TelemetryGenerationBusy",
            2105,
            level=logging.WARNING,
            message=f"Telemetry generation already in progress for run {run_id}",
            runId=run_id,
            captureKey=capture_key,
        )
        raise
    except CaptureAlreadyExists:
        raise
    except (WriteFailed, OSError) as exc:
        failure = CaptureFailed(f"Telemetry generation failed for run '{run_id}'.")
        _log_failed(failure, fields)
        raise failure from exc
    except FlowTimeError as exc:
        _log_failed(exc, fields)
        raise
    log_event(
        _log,
        "TelemetryGenerationCompleted",
        2102,
        message=f"Telemetry generation completed for run {run_id}",
        fileCount=file_count,
        warningCount=len(result.warnings),
        durationMs=round((time.monotonic() - started) * 1000),
        **fields,
    )
    return result


def _resolve_target(
    run_dir: Path,
    capture_key: str | None,
    directory: str | None,
    runs_root: Path,
    telemetry_root: Path,
    allowed_roots: Sequence[Path],
) -> _Target:
    if capture_key is not None and directory is not None:
        raise InvalidOutput("Specify at most one of output.captureKey and output.directory.")
    if capture_key is not None:
        keyed = telemetry_root / validate_capture_key(capture_key)
        refuse_run_directory(keyed, label=capture_key)
        return _Target(keyed, "captureKey")
    if directory is not None:
        path = Path(directory) if os.path.isabs(directory) else telemetry_root / directory
        roots = [telemetry_root, runs_root, *allowed_roots]
        if not directory.strip() or not is_inside(path, roots):
            raise PathOutsideRoots(f"Output directory '{directory}' is outside the allowed roots.")
        normal = Path(os.path.normpath(path))
        if any(os.path.realpath(normal) == os.path.realpath(root) for root in roots):
            raise InvalidOutput(f"Output directory '{directory}' is a root itself; name a directory inside it.")
        refuse_run_directory(normal, label=directory)
        return _Target(normal, "directory")
    return _Target(run_telemetry_dir(run_dir), "run")


def _check_existing(target: _Target, capture_key: str | None, overwrite: bool, fields: dict[str, Any]) -> None:
    """Step 5: a present ``manifest.json`` without overwrite is answered with the stored facts."""
    manifest_path = target.path / MANIFEST_NAME
    if overwrite or not manifest_path.is_file():
        return
    manifest = read_json_object(manifest_path) or {}
    auto = read_json_object(target.path / AUTOCAPTURE_NAME) or {}
    provenance = manifest.get("provenance") if isinstance(manifest.get("provenance"), dict) else {}
    generated_at = nonblank(auto.get("generatedAtUtc")) or nonblank(provenance.get("capturedAtUtc"))
    source_run = nonblank(auto.get("sourceRunId")) or nonblank(provenance.get("runId"))
    capture = GenerationResult(False, True, generated_at, source_run, capture_key)
    log_event(
        _log,
        "TelemetryGenerationExists",
        2103,
        message=f"Telemetry bundle already exists for run {fields['runId']}",
        generatedAtUtc=generated_at,
        **fields,
    )
    raise CaptureAlreadyExists(
        f"Telemetry bundle already exists (generated at {generated_at or 'an unknown time'}). "
        "Set output.overwrite to regenerate.",
        capture,
    )


def _generate(
    run_dir: Path,
    target: _Target,
    metadata: dict[str, Any],
    capture_key: str | None,
    overwrite: bool,
    now: datetime | None,
    runs_root: Path,
    telemetry_root: Path,
    fields: dict[str, Any],
) -> tuple[GenerationResult, int]:
    """Steps 6–9 under the capture lock: capture, autocapture.json, commit, manifest sync."""
    generated_at = format_utc(now or datetime.now(UTC))
    run_id = fields["runId"]
    source = read_capture_source(run_dir, label=run_id)
    log_capture_start(run_id, target.path, dry_run=False, gap_mode="ignore", fill_nan=False)
    plan = plan_capture(source)
    log_plan(plan)
    if not plan.files:
        raise CaptureEmpty(f"Run '{run_id}' has no series matching its topology semantics or outputs.")
    run_json = read_json_object(run_dir / RUN_FILE) or {}
    run_manifest = read_json_object(run_dir / MANIFEST_FILE) or {}
    auto = autocapture_document(
        metadata=metadata,
        run_manifest=run_manifest,
        run_json=run_json,
        source_run_id=run_id,
        capture_key=capture_key,
        generated_at_utc=generated_at,
    )
    manifest = plan.manifest(generated_at)
    keep = (RUN_MANIFEST_NAME,) if target.kind == "run" else ()
    roots = (runs_root, telemetry_root) if target.kind == "run" else (telemetry_root, runs_root)
    with run_lock(runs_root, run_id):
        if not (run_dir / MODEL_DIR).is_dir():
            raise RunNotFound(f"Run '{run_id}' not found.")
        data = write_bundle(
            [*plan.file_contents(), (AUTOCAPTURE_NAME, json_bytes(auto))],
            manifest,
            target.path,
            roots=roots,
            overwrite=overwrite,
            keep=keep,
        )
        _sync_run_manifest(run_dir, data)
    log_capture_completed(plan, dry_run=False)
    warnings = tuple(w.to_api() for w in plan.warnings)
    return GenerationResult(True, False, generated_at, run_id, capture_key, warnings), len(plan.files)


def _sync_run_manifest(run_dir: Path, data: bytes) -> None:
    """Step 9: the source run's ``telemetry-manifest.json`` becomes the new manifest, by atomic replace."""
    directory = run_telemetry_dir(run_dir)
    directory.mkdir(parents=True, exist_ok=True)
    temp = directory / f".{RUN_MANIFEST_NAME}.tmp-{os.getpid()}"
    try:
        with temp.open("wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, directory / RUN_MANIFEST_NAME)
    finally:
        temp.unlink(missing_ok=True)
    fsync_directory(directory)


def _log_failed(exc: FlowTimeError, fields: dict[str, Any]) -> None:
    client_error = exc.code not in ("capture_failed", "write_failed", "internal_error")
    log_event(
        _log,
        "TelemetryGenerationFailed",
        2104,
        level=logging.WARNING if client_error else logging.ERROR,
        message=f"Telemetry generation failed for run {fields['runId']}: {exc.message}",
        code=exc.code,
        error=exc.message,
        **fields,
    )
