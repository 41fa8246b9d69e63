"""The ``flowtime`` command: global options, the command tree, and the process entry point."""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from pathlib import Path
from typing import Annotated, Any

# FlowTime does no linear algebra. OpenBLAS, loaded with numpy, otherwise starts a thread per core that
# spins for about 0.1 s of CPU during every command's start-up. Set before anything imports numpy.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import click
import typer
from typer.core import TyperGroup
from typer.main import get_command_from_info, get_group
from typer.models import CommandInfo

from flowtime import __version__
from flowtime.logs import configure_logging


def _function(module: str, attribute: str) -> Callable[[str], click.Command]:
    def load(name: str) -> click.Command:
        callback = getattr(importlib.import_module(module), attribute)
        return get_command_from_info(
            CommandInfo(name=name, callback=callback),
            pretty_exceptions_short=app.pretty_exceptions_short,
            rich_markup_mode=app.rich_markup_mode,
        )

    return load


def _sub_app(module: str, extra: Sequence[tuple[str, str, str]] = ()) -> Callable[[str], click.Command]:
    """A sub-app (``module.app``), plus commands defined elsewhere: ``(name, module, function)``."""

    def load(name: str) -> click.Command:
        sub: typer.Typer = importlib.import_module(module).app
        registered = {info.name for info in sub.registered_commands}
        for command, source, function in extra:
            if command not in registered:
                sub.command(command)(getattr(importlib.import_module(source), function))
        group = get_group(sub)
        group.name = name
        return group

    return load


# Each command's module is imported only when that command runs (or help lists it): `flowtime eval` never
# loads the server, the web UI, templates or telemetry capture. Listed in the order help shows them.
_COMMANDS: dict[str, Callable[[str], click.Command]] = {
    "validate": _function("flowtime.cli.engine", "validate"),
    "run": _function("flowtime.cli.engine", "run"),
    "eval": _function("flowtime.cli.engine", "eval_"),
    "state": _function("flowtime.cli.state", "state"),
    "serve": _function("flowtime.cli.serve", "serve"),
    "sim": _sub_app("flowtime.cli.sim"),
    "runs": _sub_app("flowtime.cli.runs"),
    "telemetry": _sub_app(
        "flowtime.cli.telemetry",
        (("generate", "flowtime.cli.runs", "generate"), ("list", "flowtime.cli.runs", "list_captures")),
    ),
}


class _LazyCommands(MutableMapping[str, click.Command]):
    """Every command name at once (for typo suggestions), each command built on first lookup."""

    def __init__(self) -> None:
        self._built: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._built:
            if name not in _COMMANDS:
                raise KeyError(name)
            self._built[name] = _COMMANDS[name](name)
        return self._built[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*_COMMANDS, *self._built]))

    def __len__(self) -> int:
        return len(dict.fromkeys([*_COMMANDS, *self._built]))


class _LazyGroup(TyperGroup):
    """The command tree, with each command built from its module on first use."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _LazyCommands()

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


app = typer.Typer(
    name="flowtime",
    cls=_LazyGroup,
    help="FlowTime: model service systems over a time grid, run them, capture telemetry, replay, time travel.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

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
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Data directory (default ./data).")] = None,
    runs_root: Annotated[Path | None, typer.Option("--runs-root", help="Runs root (default: data dir).")] = None,
    telemetry_root: Annotated[
        Path | None, typer.Option("--telemetry-root", help="Telemetry root (default: <data dir>/telemetry).")
    ] = None,
    templates_dir: Annotated[Path | None, typer.Option("--templates-dir", help="Extra templates directory.")] = None,
    allow_root: Annotated[
        list[Path] | None, typer.Option("--allow-root", help="Extra allowed root (repeatable).")
    ] = None,
    log_format: Annotated[str | None, typer.Option("--log-format", help="json | text")] = None,
    log_level: Annotated[str | None, typer.Option("--log-level", help="debug | info | warning | error")] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    from flowtime.cli.context import set_settings
    from flowtime.runs import Settings

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
    # Commands print their own `Error [code]: …` lines, so the event log stays silent unless asked for;
    # `serve` raises it to the service's own level (info by default).
    explicit = log_level or os.environ.get("FLOWTIME_LOG_LEVEL")
    configure_logging(
        getattr(logging, (explicit or "critical").upper(), logging.CRITICAL), log_format=settings.log_format
    )


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
