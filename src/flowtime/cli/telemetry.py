"""``flowtime telemetry capture|bundle|import``: the local telemetry tools (``api.md`` §11)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from flowtime.artifacts import is_valid_run_id, validate_run_id
from flowtime.cli.context import settings_of
from flowtime.cli.exit_codes import Convention
from flowtime.cli.output import handle_errors, print_json
from flowtime.errors import FlowTimeError, InvalidInput
from flowtime.telemetry import (
    RUN_PREFIX,
    CaptureNotFound,
    CaptureWarning,
    ColumnNames,
    GapMode,
    ImportOptions,
    build_bundle,
    capture,
    grid_from_model,
    import_telemetry,
    is_valid_capture_key,
    make_grid,
    parse_gap_mode,
    parse_level_agg,
    read_capture_source,
    resolve_capture_directory,
    validate_capture_key,
)

app = typer.Typer(
    name="telemetry",
    help="Capture runs into telemetry bundles, replay bundles as runs, import external telemetry.",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the manifest (or the dry-run plan) as JSON.")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace an existing bundle or run.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Compute and print the plan; write nothing.")]
FillNanOpt = Annotated[
    bool, typer.Option("--fill-nan", "--gap-fill-nan", help="Write NaN/±∞ values as 0 (warning nan_fill).")
]


def _usage(message: str) -> InvalidInput:
    return InvalidInput(message, code="usage_error")


def _print_warnings(warnings: Sequence[CaptureWarning]) -> None:
    if not warnings:
        typer.echo("Warnings: none")
        return
    typer.echo(f"Warnings ({len(warnings)}):")
    for w in warnings:
        typer.echo(f"  - [{w.code}] {w.message}")


def _gap_mode(gap_mode: str | None, gap_detect: bool, gap_fill: bool, default: GapMode) -> GapMode:
    chosen = [m for m, on in ((gap_mode, gap_mode is not None), ("warn", gap_detect), ("fill-zero", gap_fill)) if on]
    modes = {parse_gap_mode(m) for m in chosen if m is not None}
    if len(modes) > 1:
        raise _usage("Give one gap mode: --gap-mode, --gap-detect or --gap-fill-gaps.")
    return modes.pop() if modes else default


# --------------------------------------------------------------------------------------------- capture


@app.command("capture")
@handle_errors(Convention.LOCAL)
def capture_command(
    run_dir: Annotated[Path | None, typer.Option("--run-dir", help="Run directory to capture.")] = None,
    run_id: Annotated[str | None, typer.Option("--run-id", help="Run id under RunsRoot.")] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "--out", help="Bundle directory (default <TelemetryRoot>/<runId>)."),
    ] = None,
    gap_mode: Annotated[
        str | None, typer.Option("--gap-mode", help="ignore | warn | fill-zero (default ignore).")
    ] = None,
    gap_detect: Annotated[bool, typer.Option("--gap-detect", help="Same as --gap-mode warn.")] = False,
    gap_fill_gaps: Annotated[bool, typer.Option("--gap-fill-gaps", help="Same as --gap-mode fill-zero.")] = False,
    fill_nan: FillNanOpt = False,
    dry_run: DryRunOpt = False,
    overwrite: OverwriteOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Capture a run's series into a telemetry bundle: one CSV per node and metric plus manifest.json."""
    settings = settings_of()
    if (run_dir is None) == (run_id is None):
        raise _usage("Give exactly one of --run-dir and --run-id.")
    mode = _gap_mode(gap_mode, gap_detect, gap_fill_gaps, "ignore")
    if run_id is not None:
        source = read_capture_source(settings.runs_root / validate_run_id(run_id), label=run_id)
    else:
        source = read_capture_source(run_dir.absolute(), label=str(run_dir))  # type: ignore[union-attr]
    target = (output or settings.telemetry_root / _default_key(run_id or source.run_id)).absolute()
    result = capture(
        source,
        target,
        telemetry_root=settings.telemetry_root,
        roots=(settings.runs_root, settings.telemetry_root),
        dry_run=dry_run,
        gap_mode=mode,
        fill_nan=fill_nan,
        overwrite=overwrite,
        output_label=str(output) if output is not None else str(target),
    )
    if json_output:
        print_json(result.plan.to_json(str(target)) if result.manifest is None else result.manifest.to_json())
        return
    plan = result.plan
    typer.echo(f"Run ID: {plan.source.run_id}")
    typer.echo(f"Output Directory: {target}")
    typer.echo(f"Files ({len(plan.files)}):")
    for f in plan.files:
        b = f.binding
        typer.echo(f"  - {b.target_file_name} ({b.node_id}:{b.metric.name}, source={b.source_series_id})")
    _print_warnings(plan.warnings)
    if dry_run:
        typer.echo("Dry-run complete. No files were written.")
    else:
        typer.echo(f"Capture complete. Manifest written to {target / 'manifest.json'}")


# ---------------------------------------------------------------------------------------------- bundle


@app.command("bundle")
@handle_errors(Convention.LOCAL)
def bundle_command(
    capture_dir: Annotated[
        str,
        typer.Option("--capture-dir", help="Capture directory, capture key or run:<runId>.", show_default=False),
    ],
    model: Annotated[Path, typer.Option("--model", help="Model YAML to replay the capture with.", show_default=False)],
    provenance: Annotated[
        Path | None, typer.Option("--provenance", help="Provenance JSON (or a bare model id) to record.")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "--out", help="Runs root (default RunsRoot).")] = None,
    run_id: Annotated[str | None, typer.Option("--run-id", help="Explicit run id.")] = None,
    overwrite: OverwriteOpt = False,
    deterministic_run_id: Annotated[
        bool,
        typer.Option(
            "--deterministic-run-id/--random-run-id",
            help="Derive the run id from the scenario hash (default random).",
        ),
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Caller seed recorded with the run.")] = 123,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print {runDirectory, runId, telemetryManifest, warnings}.")
    ] = False,
) -> None:
    """Build a telemetry-mode run from a capture bundle and a model (captured series replace their nodes)."""
    settings = settings_of()
    directory = _capture_directory(capture_dir)
    model_text = _read_text(model, "model", "model_unreadable")
    provenance_text = _read_text(provenance, "provenance", "provenance_unreadable") if provenance is not None else None
    runs_root = (output or settings.runs_root).absolute()
    model_dir = model.parent.absolute()
    result = build_bundle(
        directory,
        model_text,
        runs_root=runs_root,
        capture_label=capture_dir,
        provenance_text=provenance_text,
        run_id=run_id,
        overwrite=overwrite,
        deterministic_run_id=deterministic_run_id,
        rng_seed=seed,
        model_dir=model_dir,
        allowed_roots=(*settings.sandbox_roots, directory, model_dir, runs_root),
    )
    if json_output:
        print_json(result.to_json())
        return
    typer.echo(f"Bundle written to: {result.run.run_dir}")
    typer.echo(f"Run ID: {result.run.run_id}")
    typer.echo(f"Telemetry files: {len(result.manifest.files)}")
    for warning in result.run.warnings:
        typer.echo(f"Warning [{warning.code}]: {warning.message}", err=True)


def _default_key(run_id: str) -> str:
    """The run id as the default capture directory name under TelemetryRoot; it must be a plain name."""
    if not is_valid_run_id(run_id):
        raise _usage(f"The run's id '{run_id}' (run.json) is not a valid directory name; give --output DIR.")
    return run_id


def _read_text(path: Path, what: str, code: str) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise FlowTimeError(f"Cannot read {what} file '{path}': {exc.strerror}.", code=code) from exc
    except UnicodeDecodeError as exc:
        raise FlowTimeError(f"Cannot read {what} file '{path}': it is not UTF-8 text.", code=code) from exc


def _capture_directory(value: str) -> Path:
    """``run:<id>``; else a capture key that exists under TelemetryRoot; else a directory path as given
    (relative to the working directory). A well-formed key that names neither is ``capture_not_found``.
    """
    settings = settings_of()
    key_dir = settings.telemetry_root / value
    if value.startswith(RUN_PREFIX) or (is_valid_capture_key(value) and key_dir.is_dir()):
        return resolve_capture_directory(
            value,
            runs_root=settings.runs_root,
            telemetry_root=settings.telemetry_root,
            allowed_roots=settings.allowed_roots,
        )
    as_path = Path(value)
    if as_path.is_dir() or as_path.is_absolute() or not is_valid_capture_key(value):
        return as_path.absolute()
    raise CaptureNotFound(
        f"Capture '{value}' was not found: it is neither a capture key under the telemetry root nor a directory."
    )


# ---------------------------------------------------------------------------------------------- import


@app.command("import")
@handle_errors(Convention.LOCAL)
def import_command(
    input_file: Annotated[Path, typer.Option("--input", help="Long-format CSV or Parquet file.", show_default=False)],
    format: Annotated[str | None, typer.Option("--format", help="csv | parquet (default: from the extension).")] = None,
    model: Annotated[Path | None, typer.Option("--model", help="Model file: grid, start and topology nodes.")] = None,
    start: Annotated[str | None, typer.Option("--start", help="Grid start (ISO-8601) without --model.")] = None,
    bins: Annotated[int | None, typer.Option("--bins", help="Number of bins without --model.")] = None,
    bin_size: Annotated[int | None, typer.Option("--bin-size", help="Bin size without --model.")] = None,
    bin_unit: Annotated[str | None, typer.Option("--bin-unit", help="minutes | hours | days | weeks.")] = None,
    output: Annotated[Path | None, typer.Option("--output", help="Bundle directory.")] = None,
    capture_key: Annotated[str | None, typer.Option("--capture-key", help="Write to <TelemetryRoot>/<key>.")] = None,
    gap_mode: Annotated[str, typer.Option("--gap-mode", help="ignore | warn | fill-zero.")] = "warn",
    fill_nan: FillNanOpt = False,
    level_agg: Annotated[
        list[str] | None, typer.Option("--level-agg", help="queueDepth|capacity=last|mean (repeatable).")
    ] = None,
    timestamp_column: Annotated[str | None, typer.Option("--timestamp-column", help="Timestamp column.")] = None,
    node_column: Annotated[str | None, typer.Option("--node-column", help="Node id column.")] = None,
    metric_column: Annotated[str | None, typer.Option("--metric-column", help="Metric column.")] = None,
    value_column: Annotated[str | None, typer.Option("--value-column", help="Value column.")] = None,
    dry_run: DryRunOpt = False,
    overwrite: OverwriteOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Import (timestamp, nodeId, metric, value) rows, resampled onto a grid, as a replayable bundle."""
    settings = settings_of()
    grid_options = (start, bins, bin_size, bin_unit)
    if model is not None and any(v is not None for v in grid_options):
        raise _usage("Give either --model or --start/--bins/--bin-size/--bin-unit, not both.")
    if model is None and any(v is None for v in grid_options):
        raise _usage("Give --model, or all of --start, --bins, --bin-size and --bin-unit.")
    if (output is None) == (capture_key is None):
        raise _usage("Give exactly one of --output and --capture-key.")
    try:
        aggregations = parse_level_agg(level_agg or [])
    except ValueError as exc:
        raise _usage(str(exc)) from None
    model_hash = None
    if model is not None:
        grid, model_hash = grid_from_model(model)
    else:
        grid = make_grid(start, bins, bin_size, bin_unit)
    if capture_key is not None:
        target = settings.telemetry_root / validate_capture_key(capture_key)
        label = capture_key
    else:
        target = output.absolute()  # type: ignore[union-attr]
        label = str(output)
    options = ImportOptions(
        gap_mode=parse_gap_mode(gap_mode),
        fill_nan=fill_nan,
        level_agg=aggregations,
        columns=ColumnNames(timestamp_column, node_column, metric_column, value_column),
    )
    with _progress(input_file.name, enabled=not json_output and sys.stderr.isatty()) as progress:
        result = import_telemetry(
            input_file.absolute(),
            target,
            grid=grid,
            telemetry_root=settings.telemetry_root,
            options=options,
            roots=(settings.telemetry_root, settings.runs_root),
            format=format,
            model_hash=model_hash,
            dry_run=dry_run,
            overwrite=overwrite,
            output_label=label,
            progress=progress,
        )
    plan = result.plan
    if json_output:
        print_json(plan.to_json(str(target)) if result.manifest is None else result.manifest.to_json())
        return
    counts = plan.counts
    typer.echo(f"Input: {input_file} ({plan.format}, {counts.read} rows)")
    typer.echo(f"Rows: {counts.accepted} accepted, {counts.out_of_window} outside the window, {counts.dropped} dropped")
    typer.echo(f"Output Directory: {target}")
    typer.echo(f"Files ({len(plan.files)}):")
    for f in plan.files:
        typer.echo(f"  - {f.file_name} ({f.node_id}:{f.metric.name})")
    _print_warnings(plan.warnings)
    if dry_run:
        typer.echo("Dry-run complete. No files were written.")
    else:
        typer.echo(f"Import complete. Manifest written to {target / 'manifest.json'}")


@contextmanager
def _progress(name: str, *, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr while ``name`` streams in; nothing when stderr is not a terminal."""
    if not enabled:
        yield None
        return
    columns = (TextColumn("Importing {task.description}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(name, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
