"""Import of external long-format telemetry (CSV or Parquet) into a standard capture bundle (§9).

The input is streamed — CSV row by row through a hashing reader, Parquet batch by batch — into a
``Resampler`` whose memory is fixed by the grid, so a file of any size imports in bounded memory.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flowtime.artifacts import (
    encode_series_csv,
    format_grid_time,
    format_utc,
    json_bytes,
    model_start,
    parse_utc,
    sha256_bytes,
)
from flowtime.errors import FlowTimeError
from flowtime.logs import get_logger, log_event
from flowtime.model import DEFAULT_LIMITS, parse_document
from flowtime.model.values import as_integer
from flowtime.telemetry.bindings import binding_duplicate, default_file_name
from flowtime.telemetry.capture import ensure_no_capture, log_warnings, write_bundle
from flowtime.telemetry.errors import ImportGridInvalid, ImportInputInvalid
from flowtime.telemetry.gaps import GapMode, apply_gap_policy
from flowtime.telemetry.locks import capture_lock
from flowtime.telemetry.longformat import (
    ColumnNames,
    InputFormat,
    Progress,
    detect_format,
    stream_csv,
    stream_parquet,
)
from flowtime.telemetry.manifest import (
    CaptureGrid,
    CaptureProvenance,
    CaptureWarning,
    Manifest,
    ManifestFile,
)
from flowtime.telemetry.metrics import Metric
from flowtime.telemetry.resample import (
    ImportGrid,
    LevelAgg,
    Resampler,
    RowCounts,
    level_aggregations,
)

IMPORT_NAME = "import.json"
_log = get_logger("telemetry.import")
_UNITS = ("minutes", "hours", "days", "weeks")


@dataclass(frozen=True, slots=True)
class ImportOptions:
    gap_mode: GapMode = "warn"
    fill_nan: bool = False
    level_agg: Mapping[str, LevelAgg] = field(default_factory=dict)
    columns: ColumnNames = field(default_factory=ColumnNames)


@dataclass(frozen=True, slots=True)
class ImportedFile:
    node_id: str
    metric: Metric
    file_name: str
    data: bytes
    hash: str


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """Everything an import computes before writing: files, warnings and row accounting."""

    input_file: Path
    format: InputFormat
    input_hash: str
    grid: ImportGrid
    counts: RowCounts
    files: tuple[ImportedFile, ...]
    warnings: tuple[CaptureWarning, ...]
    options: ImportOptions
    model_hash: str | None = None

    @property
    def run_id(self) -> str:
        """``import_<first 8 hex of the input file hash>``: the synthetic source run of the bundle."""
        return "import_" + self.input_hash.removeprefix("sha256:")[:8]

    def capture_grid(self) -> CaptureGrid:
        return CaptureGrid(self.grid.bins, self.grid.bin_size, self.grid.bin_unit)

    def manifest(self, captured_at_utc: str) -> Manifest:
        return Manifest(
            grid=self.capture_grid(),
            provenance=CaptureProvenance(self.run_id, self.input_hash, captured_at_utc, self.model_hash),
            files=tuple(
                ManifestFile(f.node_id, f.metric.name, f.file_name, f.hash, self.grid.bins) for f in self.files
            ),
            warnings=self.warnings,
            start_time_utc=format_grid_time(self.grid.start),
        )

    def import_document(self, imported_at_utc: str) -> dict[str, Any]:
        """``import.json`` (§9.5)."""
        return {
            "schemaVersion": 1,
            "source": {
                "fileName": self.input_file.name,
                "format": self.format,
                "hash": self.input_hash,
                "rowsRead": self.counts.read,
                "rowsAccepted": self.counts.accepted,
                "rowsOutOfWindow": self.counts.out_of_window,
                "rowsDropped": self.counts.dropped,
            },
            "grid": self.capture_grid().to_json(),
            "aggregation": level_aggregations(self.options.level_agg),
            "gapMode": self.options.gap_mode,
            "fillNaN": self.options.fill_nan,
            "importedAtUtc": imported_at_utc,
        }

    def to_json(self, output_directory: str) -> dict[str, Any]:
        """The dry-run plan: target, files, warnings and row accounting; nothing is written."""
        return {
            "runId": self.run_id,
            "outputDirectory": output_directory,
            "source": self.import_document("")["source"],
            "files": [
                {"nodeId": f.node_id, "metric": f.metric.name, "targetFileName": f.file_name} for f in self.files
            ],
            "warnings": [w.to_json() for w in self.warnings],
        }


@dataclass(frozen=True, slots=True)
class ImportResult:
    plan: ImportPlan
    manifest: Manifest | None
    output_directory: Path
    dry_run: bool


# ------------------------------------------------------------------------------------------------ grid


def grid_from_model(path: Path) -> tuple[ImportGrid, str]:
    """The grid, start and topology node ids of a model file, and the file's hash (``modelHash``).

    An unreadable file is ``model_unreadable``; a model without a usable grid or start is
    ``import_grid_invalid``. Messages name the file as given.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FlowTimeError(f"Cannot read model file '{path}'.", code="model_unreadable") from exc
    document = parse_document(data)
    root = document.root
    if not isinstance(root, dict) or any(p.is_error for p in document.problems):
        raise ImportGridInvalid(f"Model file '{path}' is not a valid model document; check it with flowtime validate.")
    grid = root.get("grid")
    if not isinstance(grid, dict):
        raise ImportGridInvalid(f"Model file '{path}' has no grid mapping (bins, binSize, binUnit, start).")
    start = model_start(root)
    if start is None:
        raise ImportGridInvalid(
            f"Model file '{path}' has no grid start (grid.start, grid.startTimeUtc or window.start); "
            "an import needs one to place timestamps on bins."
        )
    topology = root.get("topology")
    nodes = topology.get("nodes") if isinstance(topology, dict) else None
    node_ids = tuple(
        str(n["id"]).strip() for n in (nodes if isinstance(nodes, list) else []) if isinstance(n, dict) and n.get("id")
    )
    made = make_grid(
        start,
        grid.get("bins"),
        grid.get("binSize"),
        grid.get("binUnit"),
        node_ids=node_ids,
        where=f"Model file '{path}': grid.",
    )
    return made, sha256_bytes(data)


def make_grid(
    start: datetime | str | None,
    bins: Any,
    bin_size: Any,
    bin_unit: Any,
    *,
    node_ids: tuple[str, ...] | None = None,
    where: str = "",
) -> ImportGrid:
    """Check the grid against the engine's limits (``model.md`` §3) and build it; ``import_grid_invalid``.

    ``where`` prefixes the field names in messages (``Model file 'm.yaml': grid.``).
    """
    moment = start if isinstance(start, datetime) else parse_utc(start)
    if moment is None:
        raise ImportGridInvalid(
            f"{where}start '{start}' is not a time: use an ISO-8601 timestamp such as 2026-03-02T08:00:00Z."
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    count = as_integer(bins)
    if count is None or not 1 <= count <= DEFAULT_LIMITS.max_bins:
        raise ImportGridInvalid(f"{where}bins must be between 1 and {DEFAULT_LIMITS.max_bins} (got {bins}).")
    size = as_integer(bin_size)
    if size is None or not 1 <= size <= DEFAULT_LIMITS.max_bin_size:
        raise ImportGridInvalid(f"{where}binSize must be between 1 and {DEFAULT_LIMITS.max_bin_size} (got {bin_size}).")
    unit = bin_unit.strip().lower() if isinstance(bin_unit, str) else None
    if unit not in _UNITS:
        raise ImportGridInvalid(f"{where}binUnit must be one of: minutes, hours, days, weeks (got {bin_unit}).")
    return ImportGrid(moment.astimezone(UTC), count, size, unit, node_ids)


# ----------------------------------------------------------------------------------------------- plan


def plan_import(
    input_file: Path,
    grid: ImportGrid,
    options: ImportOptions = ImportOptions(),
    *,
    format: str | None = None,
    model_hash: str | None = None,
    progress: Progress | None = None,
) -> ImportPlan:
    """Read and resample the whole input and encode the bundle's CSVs; nothing is written."""
    fmt = detect_format(input_file, format)
    if not input_file.is_file():
        what = "is not a regular file" if input_file.exists() else "was not found"
        raise ImportInputInvalid(f"Input file '{input_file}' {what}.")
    resampler = Resampler(grid, options.level_agg)
    stream = stream_csv if fmt == "csv" else stream_parquet
    input_hash = stream(input_file, options.columns, resampler, progress)
    warnings = resampler.import_warnings()
    files: list[ImportedFile] = []
    taken: set[str] = set()
    for series in resampler.series():
        name = default_file_name(series.node_id, series.metric)
        if name.casefold() in taken:
            warnings.append(binding_duplicate(series.node_id, series.metric))
            continue
        taken.add(name.casefold())
        processed = apply_gap_policy(
            series.values,
            series.missing,
            node_id=series.node_id,
            metric=series.metric.name,
            gap_mode=options.gap_mode,
            fill_nan=options.fill_nan,
            nan_seen=series.nan_seen,
        )
        data = encode_series_csv(processed.values, missing=processed.missing)
        files.append(ImportedFile(series.node_id, series.metric, name, data, sha256_bytes(data)))
        warnings.extend(processed.warnings)
    return ImportPlan(
        input_file,
        fmt,
        input_hash,
        grid,
        resampler.counts,
        tuple(files),
        tuple(warnings),
        options,
        model_hash,
    )


def import_telemetry(
    input_file: Path,
    output_dir: Path,
    *,
    grid: ImportGrid,
    telemetry_root: Path,
    options: ImportOptions = ImportOptions(),
    roots: Sequence[Path] = (),
    format: str | None = None,
    model_hash: str | None = None,
    dry_run: bool = False,
    overwrite: bool = False,
    output_label: str | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ImportResult:
    """Import ``input_file`` into the capture bundle ``output_dir`` (§9), locked and staged like every
    bundle writer; ``capture_exists`` when a manifest is there and ``overwrite`` is false."""
    fields = {"inputFile": input_file.name, "format": format or input_file.suffix.lstrip(".").lower()}
    log_event(
        _log,
        "TelemetryImportStart",
        2301,
        message=f"Telemetry import started for {input_file.name}",
        **fields,
    )
    try:
        if not dry_run:
            ensure_no_capture(output_dir, overwrite=overwrite, label=output_label or str(output_dir))
        plan = plan_import(input_file, grid, options, format=format, model_hash=model_hash, progress=progress)
        log_warnings(plan.warnings, plan.run_id)
        manifest = None
        if not dry_run:
            stamp = format_utc(now or datetime.now(UTC))
            manifest = plan.manifest(stamp)
            contents = [(f.file_name, f.data) for f in plan.files]
            contents.append((IMPORT_NAME, json_bytes(plan.import_document(stamp))))
            with capture_lock(output_dir, telemetry_root):
                ensure_no_capture(output_dir, overwrite=overwrite, label=output_label or str(output_dir))
                write_bundle(contents, manifest, output_dir, roots=roots, overwrite=overwrite)
    except FlowTimeError as exc:
        log_event(
            _log,
            "TelemetryImportFailed",
            2303,
            level=logging.ERROR,
            message=f"Telemetry import failed for {input_file.name}: {exc.message}",
            code=exc.code,
            **fields,
        )
        raise
    log_event(
        _log,
        "TelemetryImportCompleted",
        2302,
        message=f"Telemetry import {'planned' if dry_run else 'completed'} for {input_file.name}",
        rowsRead=plan.counts.read,
        rowsAccepted=plan.counts.accepted,
        fileCount=len(plan.files),
        warningCount=len(plan.warnings),
        **{**fields, "format": plan.format},
    )
    return ImportResult(plan, manifest, output_dir, dry_run)
