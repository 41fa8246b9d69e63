"""Naming and finding capture bundles: capture keys, ``captureDirectory`` values and the listing of §5.1."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowtime.artifacts import is_valid_run_id, parse_utc, validate_run_id
from flowtime.model import is_inside
from flowtime.telemetry.autocapture import AUTOCAPTURE_NAME
from flowtime.telemetry.availability import run_telemetry_dir
from flowtime.telemetry.documents import nonblank, read_json_object
from flowtime.telemetry.errors import CaptureNotFound, InvalidCaptureKey, PathOutsideRoots
from flowtime.telemetry.manifest import MANIFEST_NAME

RUN_PREFIX = "run:"
MAX_KEY_DEPTH = 8
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def is_valid_capture_key(key: str) -> bool:
    """1–8 segments joined by ``/``, each ``^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`` (so never ``.`` or ``..``)."""
    segments = key.split("/")
    return 1 <= len(segments) <= MAX_KEY_DEPTH and all(_SEGMENT.fullmatch(s) for s in segments)


def validate_capture_key(key: str) -> str:
    """``key`` if valid, else ``invalid_capture_key`` (``api.md`` §1.4)."""
    if not is_valid_capture_key(key):
        raise InvalidCaptureKey(
            f"captureKey '{key}' is invalid: use 1-8 segments joined by '/', each starting with a letter or "
            "digit and containing only letters, digits, '.', '_' or '-' (at most 64 characters)."
        )
    return key


def resolve_capture_directory(
    value: str,
    *,
    runs_root: Path,
    telemetry_root: Path,
    allowed_roots: Sequence[Path] = (),
    must_exist: bool = True,
) -> Path:
    """Resolve a ``captureDirectory`` value: ``run:<runId>``, an absolute path inside the allowed roots, or
    a capture key under TelemetryRoot (``api.md`` §4.1).

    Raises ``invalid_run_id``, ``path_outside_roots``, ``invalid_capture_key`` or, with ``must_exist``,
    ``capture_not_found`` (``Capture '<value>' was not found.``); messages name the value, never a path.
    """
    text = value.strip()
    if text.startswith(RUN_PREFIX):
        run_id = validate_run_id(text[len(RUN_PREFIX) :])
        directory = run_telemetry_dir(runs_root / run_id)
    elif os.path.isabs(text):
        directory = Path(text)
        if not is_inside(directory, [runs_root, telemetry_root, *allowed_roots]):
            raise PathOutsideRoots(f"Capture directory '{value}' is outside the allowed roots.")
    else:
        directory = telemetry_root / validate_capture_key(text)
    if must_exist and not directory.is_dir():
        raise CaptureNotFound(f"Capture '{value}' was not found.")
    return directory


@dataclass(frozen=True, slots=True)
class CaptureListing:
    """One row of ``GET /v1/telemetry/captures``: how to refer to a capture and what it holds, no paths."""

    capture_directory: str
    capture_key: str | None
    source_run_id: str | None
    template_id: str | None
    template_version: str | None
    generated_at_utc: str | None
    file_count: int
    warning_count: int
    grid: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "captureDirectory": self.capture_directory,
            "captureKey": self.capture_key,
            "sourceRunId": self.source_run_id,
            "templateId": self.template_id,
            "templateVersion": self.template_version,
            "generatedAtUtc": self.generated_at_utc,
            "fileCount": self.file_count,
            "warningCount": self.warning_count,
            "grid": self.grid,
        }


def list_captures(
    *,
    runs_root: Path,
    telemetry_root: Path,
    template_id: str | None = None,
    source_run_id: str | None = None,
) -> list[CaptureListing]:
    """Every capture under TelemetryRoot (keys up to 8 levels, dot-directories skipped) and every run-scoped
    capture, filtered by exact ``template_id``/``source_run_id``, newest ``generatedAtUtc`` first."""
    found: list[CaptureListing] = []
    if telemetry_root.is_dir():
        for directory, key in _keyed_directories(telemetry_root):
            listing = _listing(directory, capture_directory=key, capture_key=key)
            if listing is not None:
                found.append(listing)
    if runs_root.is_dir():
        telemetry_real = os.path.realpath(telemetry_root)
        for run in sorted(runs_root.iterdir(), key=lambda p: p.name):
            if run.name.startswith(".") or not is_valid_run_id(run.name) or not run.is_dir():
                continue
            if os.path.realpath(run) == telemetry_real:
                continue
            listing = _listing(run_telemetry_dir(run), capture_directory=RUN_PREFIX + run.name, capture_key=None)
            if listing is not None:
                found.append(listing)
    if template_id is not None:
        found = [c for c in found if c.template_id == template_id]
    if source_run_id is not None:
        found = [c for c in found if c.source_run_id == source_run_id]
    found.sort(key=lambda c: c.capture_directory)
    found.sort(key=_age)
    return found


def _age(listing: CaptureListing) -> tuple[int, float]:
    """Sort key: dated captures newest first, then undated ones."""
    moment = parse_utc(listing.generated_at_utc)
    return (0, -moment.timestamp()) if moment is not None else (1, 0.0)


def _keyed_directories(root: Path) -> list[tuple[Path, str]]:
    """Directories below ``root`` whose relative path is a valid capture key, breadth-first by name."""
    out: list[tuple[Path, str]] = []
    level: list[tuple[Path, str]] = [(root, "")]
    for _depth in range(MAX_KEY_DEPTH):
        next_level: list[tuple[Path, str]] = []
        for directory, prefix in level:
            try:
                children = sorted(directory.iterdir(), key=lambda p: p.name)
            except OSError:
                continue
            for child in children:
                if child.name.startswith(".") or not _SEGMENT.fullmatch(child.name) or child.is_symlink():
                    continue
                if child.is_dir():
                    key = f"{prefix}/{child.name}" if prefix else child.name
                    out.append((child, key))
                    next_level.append((child, key))
        level = next_level
    return out


def _listing(directory: Path, *, capture_directory: str, capture_key: str | None) -> CaptureListing | None:
    manifest = read_json_object(directory / MANIFEST_NAME)
    if manifest is None:
        return None
    auto = read_json_object(directory / AUTOCAPTURE_NAME) or {}
    provenance = manifest.get("provenance") if isinstance(manifest.get("provenance"), dict) else {}
    files = manifest.get("files")
    warnings = manifest.get("warnings")
    grid = manifest.get("grid")
    return CaptureListing(
        capture_directory=capture_directory,
        capture_key=capture_key,
        source_run_id=nonblank(provenance.get("runId")),
        template_id=nonblank(auto.get("templateId")),
        template_version=nonblank(auto.get("templateVersion")),
        generated_at_utc=nonblank(auto.get("generatedAtUtc")) or nonblank(provenance.get("capturedAtUtc")),
        file_count=len(files) if isinstance(files, list) else 0,
        warning_count=len(warnings) if isinstance(warnings, list) else 0,
        grid=(
            {"bins": grid.get("bins"), "binSize": grid.get("binSize"), "binUnit": grid.get("binUnit")}
            if isinstance(grid, dict)
            else None
        ),
    )
