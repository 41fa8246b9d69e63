"""A run's telemetry availability summary, shown in run detail and list (``telemetry.md`` §5)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowtime.artifacts import TELEMETRY_DIR
from flowtime.telemetry.autocapture import AUTOCAPTURE_NAME
from flowtime.telemetry.documents import nonblank, read_json_object

RUN_MANIFEST_NAME = "telemetry-manifest.json"


@dataclass(frozen=True, slots=True)
class TelemetrySummary:
    """``{available, generatedAtUtc, warningCount, sourceRunId}``; never contains a path."""

    available: bool = False
    generated_at_utc: str | None = None
    warning_count: int = 0
    source_run_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "available": self.available,
            "generatedAtUtc": self.generated_at_utc,
            "warningCount": self.warning_count,
            "sourceRunId": self.source_run_id,
        }


def run_telemetry_dir(run_dir: Path) -> Path:
    """``<run>/model/telemetry``: where a run's own capture and telemetry manifest live."""
    return run_dir / TELEMETRY_DIR


def telemetry_summary(run_dir: Path) -> TelemetrySummary:
    """Summarise ``<run>/model/telemetry/telemetry-manifest.json`` (missing or unreadable → empty)."""
    directory = run_telemetry_dir(run_dir)
    manifest = read_json_object(directory / RUN_MANIFEST_NAME) or {}
    warnings = manifest.get("warnings")
    warning_count = len(warnings) if isinstance(warnings, list) else 0
    files = manifest.get("files")
    if isinstance(files, list) and files:
        provenance = manifest.get("provenance")
        prov = provenance if isinstance(provenance, dict) else {}
        return TelemetrySummary(True, nonblank(prov.get("capturedAtUtc")), warning_count, nonblank(prov.get("runId")))
    if directory.is_dir() and any(p.is_file() for p in directory.glob("*.csv")):
        auto = read_json_object(directory / AUTOCAPTURE_NAME) or {}
        return TelemetrySummary(
            True, nonblank(auto.get("generatedAtUtc")), warning_count, nonblank(auto.get("sourceRunId"))
        )
    return TelemetrySummary(False, None, warning_count, None)
