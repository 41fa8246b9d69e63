"""What the CLI prints: JSON in the bundle layout on stdout, problems one per line, errors on stderr."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import typer

from flowtime.artifacts import dumps_json
from flowtime.cli.exit_codes import INTERRUPTED, Convention, exit_code
from flowtime.errors import FlowTimeError, ModelInvalid, Problem

P = ParamSpec("P")
R = TypeVar("R")


def print_json(obj: Any) -> None:
    """Exactly one JSON object on stdout (``artifacts.md`` §1 layout, §5.2 numbers), nothing else."""
    sys.stdout.write(dumps_json(obj))
    sys.stdout.flush()


def problem_line(problem: Problem) -> str:
    label = "Error" if problem.is_error else "Warning"
    where = f" ({problem.path})" if problem.path else ""
    return f"{label} [{problem.code}]: {problem.message}{where}"


def print_problems(problems: Iterable[Problem], *, err: bool) -> None:
    for problem in problems:
        typer.echo(problem_line(problem), err=err)


# API messages that name a request field; on the command line the option is what the user can change.
_CLI_WORDING = {
    "Set output.overwrite to regenerate.": "Use --overwrite to regenerate.",
    "telemetry.captureDirectory is required for telemetry runs.": (
        "--capture-dir is required for telemetry runs (the default mode); use --mode simulation for a simulation run."
    ),
}
_PER_PROBLEM = frozenset({"parameter_invalid", "template_invalid"})


def error_lines(exc: FlowTimeError) -> list[str]:
    """``Error [<code>]: <message>`` — one line per collected problem for parameter and template errors."""
    body = exc.to_dict()
    problems = body.get("errors")
    if exc.code in _PER_PROBLEM and isinstance(problems, list) and problems:
        return [f"Error [{p.get('code', exc.code)}]: {p.get('message', '')}" for p in problems if isinstance(p, dict)]
    message = exc.message
    for api, cli in _CLI_WORDING.items():
        message = message.replace(api, cli)
    return [f"Error [{exc.code}]: {message}"]


def handle_errors(convention: Convention) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Turn a FlowTimeError into the command family's exit code and a clear message — never a traceback.

    With ``json_output=True`` among the command's arguments the error body (``api.md`` §1.3) goes to stdout
    instead of a line on stderr, so scripts always get one JSON object.
    """

    def decorate(command: Callable[P, R]) -> Callable[P, R]:
        @wraps(command)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return command(*args, **kwargs)
            except FlowTimeError as exc:
                if kwargs.get("json_output"):
                    print_json(exc.to_dict())
                elif isinstance(exc, ModelInvalid):
                    print_problems(exc.problems, err=True)
                else:
                    for line in error_lines(exc):
                        typer.echo(line, err=True)
                raise typer.Exit(exit_code(exc, convention)) from None
            except KeyboardInterrupt:
                typer.echo("Interrupted.", err=True)
                raise typer.Exit(INTERRUPTED) from None

        return wrapper

    return decorate
