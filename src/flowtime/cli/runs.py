"""``flowtime runs create|list|show`` and ``flowtime telemetry generate|list``: thin clients of the API."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from flowtime.cli.client import Client
from flowtime.cli.context import settings_of
from flowtime.cli.exit_codes import Convention
from flowtime.cli.output import handle_errors, print_json
from flowtime.errors import InvalidInput

app = typer.Typer(name="runs", help="Create, list and show runs (the /v1/runs API).", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print exactly the API's JSON body.")]
ServerOpt = Annotated[
    str | None,
    typer.Option(
        "--server", help="FlowTime server URL (default: in-process; env FLOWTIME_SERVER).", show_default=False
    ),
]


def client(context: typer.Context, server: str | None, paths: Sequence[Path] = ()) -> Client:
    """The command's client; in-process it logs only errors unless ``--log-level``/``FLOWTIME_LOG_LEVEL`` chose.

    ``paths`` named on the command line are allowed roots of this invocation (``api.md`` §11); a server
    keeps its own roots.
    """
    chosen = context.find_root().params.get("log_level") or os.environ.get("FLOWTIME_LOG_LEVEL", "").strip()
    settings = settings_of()
    settings = replace(settings, allowed_roots=(*settings.allowed_roots, *(p.absolute() for p in paths)))
    return Client(settings, server, quiet=not chosen)


@app.command("create")
@handle_errors(Convention.CLIENT)
def create(
    context: typer.Context,
    template_id: Annotated[str, typer.Option("--template-id", help="Template to run.", show_default=False)],
    mode: Annotated[str | None, typer.Option("--mode", help="simulation | telemetry (default telemetry).")] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", help="k=v (v parsed as JSON when valid); repeatable.")
    ] = None,
    param_file: Annotated[Path | None, typer.Option("--param-file", help="JSON object of parameters.")] = None,
    capture_dir: Annotated[
        str | None,
        typer.Option("--capture-dir", help="Telemetry mode: run:<runId>, a capture key or a path."),
    ] = None,
    bind: Annotated[
        list[str] | None, typer.Option("--bind", help="parameter=FILE inside the capture; repeatable.")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="RNG seed (pcg32).")] = None,
    deterministic_run_id: Annotated[
        bool, typer.Option("--deterministic-run-id", help="Derive the run id from the scenario hash.")
    ] = False,
    run_id: Annotated[str | None, typer.Option("--run-id", help="Explicit run id.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing explicit run id.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan only; nothing is written.")] = False,
    json_output: JsonOpt = False,
    server: ServerOpt = None,
) -> None:
    """Generate a template's model and write a run (POST /v1/runs)."""
    parameters = _read_param_file(param_file) if param_file else {}
    parameters.update(_pairs(param or [], "--param", parse_json=True))
    body: dict[str, Any] = {"templateId": template_id, "mode": mode, "parameters": parameters}
    if capture_dir is not None or bind:
        body["telemetry"] = {
            "captureDirectory": capture_dir,
            "bindings": _pairs(bind or [], "--bind", parse_json=False),
        }
    if seed is not None:
        body["rng"] = {"kind": "pcg32", "seed": seed}
    body["options"] = {
        "deterministicRunId": deterministic_run_id,
        "runId": run_id,
        "dryRun": dry_run,
        "overwriteExisting": overwrite,
    }
    named = [Path(capture_dir)] if capture_dir and os.path.isabs(capture_dir) else []
    response = client(context, server, named).create_run(body)
    if json_output:
        print_json(response)
    elif response["isDryRun"]:
        plan = response["plan"]
        typer.echo("Dry run completed. No files were written.")
        typer.echo(f"Template: {plan['templateId']} {plan['templateVersion'] or ''}".rstrip())
        typer.echo(f"Mode: {plan['mode']}")
        for f in plan["files"]:
            typer.echo(f"  {f['nodeId']}:{f['metric']} => {f['path']}")
        for w in plan["warnings"]:
            typer.echo(f"Warning [{w['code']}]: {w['message']}")
    else:
        meta = response["metadata"]
        typer.echo(f"Run created: {meta['runId']}")
        typer.echo(f"Mode: {meta['mode']}")
        typer.echo(f"Template: {meta['templateId']}")
        typer.echo(f"Telemetry sources resolved: {str(meta['telemetrySourcesResolved']).lower()}")


@app.command("list")
@handle_errors(Convention.CLIENT)
def list_(
    context: typer.Context,
    mode: Annotated[str | None, typer.Option("--mode", help="simulation | telemetry")] = None,
    template_id: Annotated[str | None, typer.Option("--template-id", help="Only runs of this template.")] = None,
    has_warnings: Annotated[str | None, typer.Option("--has-warnings", help="true | false")] = None,
    page: Annotated[int | None, typer.Option("--page", help="Page number (from 1).")] = None,
    page_size: Annotated[int | None, typer.Option("--page-size", help="Runs per page (max 200).")] = None,
    json_output: JsonOpt = False,
    server: ServerOpt = None,
) -> None:
    """List runs, newest first (GET /v1/runs)."""
    response = client(context, server).list_runs(
        mode=mode, template_id=template_id, has_warnings=has_warnings, page=page, page_size=page_size
    )
    if json_output:
        print_json(response)
        return
    rows = [
        [
            item["runId"],
            item["templateId"] or "-",
            item["mode"],
            item["createdUtc"] or "-",
            "available" if item["telemetry"]["available"] else "-",
            str(item["warningCount"]),
        ]
        for item in response["items"]
    ]
    print_table(["RUN ID", "TEMPLATE", "MODE", "CREATED", "TELEMETRY", "WARNINGS"], rows)
    typer.echo(f"Page {response['page']}: {len(rows)} of {response['totalCount']} run(s).")


@app.command("show")
@handle_errors(Convention.CLIENT)
def show(
    context: typer.Context,
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID", help="Run id.", show_default=False)],
    json_output: JsonOpt = False,
    server: ServerOpt = None,
) -> None:
    """Show one run (GET /v1/runs/{runId})."""
    response = client(context, server).show_run(run_id)
    if json_output:
        print_json(response)
        return
    meta, run, telemetry = response["metadata"], response["run"], response["telemetry"]
    grid = run["grid"] or {}
    typer.echo(f"Run ID: {meta['runId']}")
    typer.echo(f"Template: {meta['templateId']} {meta['templateVersion'] or ''}".rstrip())
    typer.echo(f"Mode: {meta['mode']}")
    typer.echo(f"Created: {meta['createdUtc'] or '-'}")
    typer.echo(f"Grid: {grid.get('bins')} bins of {grid.get('binSize')} {grid.get('binUnit')}")
    typer.echo(f"Telemetry sources resolved: {str(meta['telemetrySourcesResolved']).lower()}")
    typer.echo(f"Can replay: {str(response['canReplay']).lower()}")
    generated = telemetry["generatedAtUtc"]
    typer.echo(f"Telemetry: available, generated {generated}" if telemetry["available"] else "Telemetry: none")
    for w in response["warnings"] + run["warnings"]:
        typer.echo(f"Warning [{w['code']}]: {w['message']}")


@handle_errors(Convention.CLIENT)
def generate(
    context: typer.Context,
    run_id: Annotated[str, typer.Option("--run-id", help="Simulation run to capture.", show_default=False)],
    capture_key: Annotated[str | None, typer.Option("--capture-key", help="Write to <TelemetryRoot>/<key>.")] = None,
    output_dir: Annotated[
        str | None,
        typer.Option("--output-dir", help="Write to this directory (a relative one lies under TelemetryRoot)."),
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Regenerate an existing bundle.")] = False,
    json_output: JsonOpt = False,
    server: ServerOpt = None,
) -> None:
    """Generate a telemetry bundle from a simulation run (POST /v1/telemetry/captures)."""
    body = {
        "source": {"type": "run", "runId": run_id},
        "output": {"captureKey": capture_key, "directory": output_dir, "overwrite": overwrite},
    }
    # the directory's parent is the allowed root: a target that is itself a root is refused (it may be RunsRoot)
    named = [Path(output_dir).parent] if output_dir and os.path.isabs(output_dir) else []
    response = client(context, server, named).generate_capture(body)
    if json_output:
        print_json(response)
        return
    capture = response["capture"]
    typer.echo(f"Telemetry generated for run {capture['sourceRunId']} at {capture['generatedAtUtc']}.")
    if capture["captureKey"]:
        typer.echo(f"Capture key: {capture['captureKey']}")
    for w in capture["warnings"]:
        typer.echo(f"Warning [{w['code']}]: {w['message']}")


@handle_errors(Convention.CLIENT)
def list_captures(
    context: typer.Context,
    template_id: Annotated[str | None, typer.Option("--template-id", help="Only captures of this template.")] = None,
    source_run_id: Annotated[str | None, typer.Option("--source-run-id", help="Only captures of this run.")] = None,
    json_output: JsonOpt = False,
    server: ServerOpt = None,
) -> None:
    """List capture bundles, newest first (GET /v1/telemetry/captures)."""
    response = client(context, server).list_captures(template_id=template_id, source_run_id=source_run_id)
    if json_output:
        print_json(response)
        return
    rows = [
        [
            c["captureDirectory"],
            c["sourceRunId"] or "-",
            c["templateId"] or "-",
            c["generatedAtUtc"] or "-",
            str(c["fileCount"]),
            str(c["warningCount"]),
        ]
        for c in response["items"]
    ]
    print_table(["CAPTURE", "SOURCE RUN", "TEMPLATE", "GENERATED", "FILES", "WARNINGS"], rows)


def print_table(header: list[str], rows: list[list[str]]) -> None:
    """Left-aligned columns separated by two spaces; nothing but the header when there are no rows."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _pairs(items: list[str], option: str, *, parse_json: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"{option} expects key=value, got '{item}'.", code="invalid_option")
        out[key.strip()] = _json_or_text(value) if parse_json else value
    return out


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _read_param_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError):
        raise InvalidInput(f"Cannot read parameters from '{path}' as a JSON object.", code="invalid_option") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"Cannot read parameters from '{path}' as a JSON object.", code="invalid_option")
    return data


__all__ = ["app", "client", "generate", "list_captures", "print_table"]
