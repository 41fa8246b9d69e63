"""The ``flowtime`` command: global options, the command tree, and the process entry point."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from flowtime import __version__
from flowtime.cli import engine, runs, serve, sim, state, telemetry
from flowtime.cli.context import set_settings
from flowtime.logs import configure_logging
from flowtime.runs import Settings

app = typer.Typer(
    name="flowtime",
    help="FlowTime: model service systems over a time grid, run them, capture telemetry, replay, time travel.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

app.command("validate")(engine.validate)
app.command("run")(engine.run)
app.command("eval")(engine.eval_)
app.add_typer(sim.app, name="sim")
app.add_typer(runs.app, name="runs")
app.command("state")(state.state)
app.command("serve")(serve.serve)
telemetry.app.command("generate")(runs.generate)
telemetry.app.command("list")(runs.list_captures)
app.add_typer(telemetry.app, name="telemetry")

# Global options may appear anywhere on the command line (api.md §11); they are moved in front of the
# command before Typer parses, so `flowtime run m.yaml --data-dir X` works like `flowtime --data-dir X run …`.
_GLOBAL_WITH_VALUE = (
    "--data-dir",
    "--runs-root",
    "--telemetry-root",
    "--templates-dir",
    "--allow-root",
    "--log-format",
    "--log-level",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"flowtime {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Data directory (default ./data).")
    ] = None,
    runs_root: Annotated[
        Path | None, typer.Option("--runs-root", help="Runs root (default: data dir).")
    ] = None,
    telemetry_root: Annotated[
        Path | None, typer.Option("--telemetry-root", help="Telemetry root (default: <data dir>/telemetry).")
    ] = None,
    templates_dir: Annotated[
        Path | None, typer.Option("--templates-dir", help="Extra templates directory.")
    ] = None,
    allow_root: Annotated[
        list[Path] | None, typer.Option("--allow-root", help="Extra allowed root (repeatable).")
    ] = None,
    log_format: Annotated[str | None, typer.Option("--log-format", help="json | text")] = None,
    log_level: Annotated[
        str | None, typer.Option("--log-level", help="debug | info | warning | error")
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    settings = Settings.resolve(
        data_dir=data_dir,
        runs_root=runs_root,
        telemetry_root=telemetry_root,
        templates_dir=templates_dir,
        allowed_roots=allow_root or (),
        log_format=log_format,
        log_level=log_level,
    )
    set_settings(settings)
    # Commands print their own `Error [code]: …` lines, so the event log stays at errors unless asked for;
    # `serve` raises it to the service's own level (info by default).
    explicit = log_level or os.environ.get("FLOWTIME_LOG_LEVEL")
    configure_logging(getattr(logging, (explicit or "error").upper(), logging.ERROR), log_format=settings.log_format)


def hoist_global_options(argv: Sequence[str]) -> list[str]:
    """Move global options (and their values) in front of the command, keeping their relative order."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        name = arg.split("=", 1)[0]
        if name in _GLOBAL_WITH_VALUE:
            if "=" in arg:
                front.append(arg)
            else:
                front.extend(argv[i : i + 2])
                i += 1
        elif arg == "--":
            rest.extend(argv[i:])
            break
        else:
            rest.append(arg)
        i += 1
    return front + rest


def main(argv: Sequence[str] | None = None) -> None:
    args = hoist_global_options(sys.argv[1:] if argv is None else argv)
    try:
        app(args=args, prog_name="flowtime")
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        sys.exit(130)
