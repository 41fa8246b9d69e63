"""Engine commands: ``validate``, ``run`` and ``eval`` read a model file and never contact a server."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from flowtime.cli.exit_codes import Convention
from flowtime.cli.output import handle_errors, print_json, print_problems
from flowtime.errors import FlowTimeError

if TYPE_CHECKING:
    pass

# The layers below are imported inside each command, so a command loads only what it uses.

ModelArg = Annotated[Path, typer.Argument(metavar="MODEL", help="Model YAML file.", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Caller seed for PMF sampling (rng block).")]


def _read_model(path: Path) -> str:
    """The model text, with a coded error (exit 1) when the file cannot be read as UTF-8 text."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise FlowTimeError(f"Cannot read model file '{path}'.", code="model_unreadable") from exc


def _model_dir(path: Path) -> Path:
    return path.parent.absolute()


@handle_errors(Convention.ENGINE)
def validate(model: ModelArg, json_output: JsonOpt = False) -> None:
    """Load and validate MODEL: every problem at once; exit 1 if there is any error."""
    from flowtime.cli.context import settings_of
    from flowtime.model import validate_model

    text = _read_model(model)
    problems = validate_model(text, model_dir=_model_dir(model), allowed_roots=settings_of().sandbox_roots)
    errors = sum(p.is_error for p in problems)
    if json_output:
        print_json(
            {
                "valid": errors == 0,
                "errorCount": errors,
                "warningCount": len(problems) - errors,
                "problems": [p.to_dict() for p in problems],
            }
        )
    else:
        print_problems(problems, err=False)
        typer.echo("Model is valid." if errors == 0 else f"Model is invalid: {errors} error(s).")
    if errors:
        raise typer.Exit(1)


@handle_errors(Convention.ENGINE)
def run(
    model: ModelArg,
    out: Annotated[Path | None, typer.Option("--out", help="Runs root (default: RunsRoot).")] = None,
    run_id: Annotated[str | None, typer.Option("--run-id", help="Explicit run id.")] = None,
    deterministic_run_id: Annotated[
        bool, typer.Option("--deterministic-run-id", help="Derive the run id from the scenario hash.")
    ] = False,
    seed: SeedOpt = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing run id.")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Load, evaluate and write MODEL as a run bundle; prints the run id and directory."""
    from flowtime.cli.context import settings_of
    from flowtime.runs import execute_model

    text = _read_model(model)
    settings = settings_of()
    written = execute_model(
        text,
        runs_root=(out or settings.runs_root).absolute(),
        model_dir=_model_dir(model),
        allowed_roots=settings.sandbox_roots,
        seed=seed,
        run_id=run_id,
        deterministic=deterministic_run_id,
        overwrite=overwrite,
    )
    if json_output:
        print_json(
            {
                "runId": written.run_id,
                "runDir": str(written.run_dir),
                "scenarioHash": written.scenario_hash,
                "series": len(written.series_ids),
            }
        )
        return
    for warning in written.warnings:
        typer.echo(f"Warning: {warning}", err=True)
    typer.echo(f"Run ID: {written.run_id}")
    typer.echo(f"Run directory: {written.run_dir}")


@handle_errors(Convention.ENGINE)
def eval_(model: ModelArg, seed: SeedOpt = None, json_output: JsonOpt = False) -> None:
    """Evaluate MODEL without writing anything; per-series sum, min and max of the finite values."""
    from flowtime.cli.context import settings_of
    from flowtime.engine import evaluate, summarise
    from flowtime.model import load_model

    text = _read_model(model)
    loaded = load_model(text, model_dir=_model_dir(model), allowed_roots=settings_of().sandbox_roots)
    evaluation = evaluate(loaded, seed=seed)
    summary = summarise(evaluation.values)  # sequential sums of the finite values, one compiled pass
    rows = [
        {"id": column, "sum": float(summary.sum[i]), "min": float(summary.min[i]), "max": float(summary.max[i])}
        if summary.count[i]
        else {"id": column, "sum": None, "min": None, "max": None}
        for i, column in enumerate(evaluation.order)
    ]
    if json_output:
        print_json({"bins": loaded.grid.bins, "columns": len(rows), "series": rows})
        return
    print_problems(loaded.warnings, err=True)
    width = max((len(r["id"]) for r in rows), default=2)
    typer.echo(f"{'id':<{width}}  {'sum':>22}  {'min':>22}  {'max':>22}")
    for r in rows:
        sums, mins, maxs = (_cell(r[k]) for k in ("sum", "min", "max"))
        typer.echo(f"{r['id']:<{width}}  {sums:>22}  {mins:>22}  {maxs:>22}")


def _cell(value: float | None) -> str:
    from flowtime.artifacts import format_double

    return "null" if value is None else format_double(value)
