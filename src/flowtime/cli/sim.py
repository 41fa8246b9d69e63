"""``flowtime sim``: list and show templates, generate engine models, validate a user's template file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from flowtime.artifacts import dumps_json
from flowtime.cli.context import settings_of
from flowtime.cli.exit_codes import FAILURE, USAGE
from flowtime.cli.output import print_json
from flowtime.errors import FlowTimeError, InvalidInput, WriteFailed
from flowtime.sim import (
    Catalogue,
    GenerationResult,
    Parameter,
    ParameterInvalid,
    Template,
    TemplateGenerationError,
    TemplateNotFound,
    check_template,
    load_catalogue,
    render_value,
)

app = typer.Typer(
    name="sim",
    help="Templates: list and show them, generate engine models, validate your own template files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="Output format: text or json.")]
TemplateArg = Annotated[str, typer.Argument(metavar="TEMPLATE_ID", help="Template id (see `flowtime sim list`).")]


# Rejected command lines; every other failure, a parameter value the template refuses included, exits 1 like
# a missing template does (local tools, ``api.md`` §11).
_USAGE_CODES = frozenset({"invalid_mode", "invalid_param"})


@contextmanager
def _reported(hint: str | None = None) -> Iterator[None]:
    """Print FlowTime errors as ``Error [<code>]: <message> (<path>)`` lines (one per collected problem), then
    what to do about them, and exit 2 for a rejected command line, 1 for any other failure."""
    try:
        yield
    except TemplateGenerationError as exc:
        for problem in exc.problems:
            typer.echo(problem.line(), err=True)
        if isinstance(exc, ParameterInvalid) and hint:
            typer.echo(hint, err=True)
        raise typer.Exit(FAILURE) from None
    except FlowTimeError as exc:
        typer.echo(f"Error [{exc.code}]: {exc.message}", err=True)
        if isinstance(exc, TemplateNotFound):
            typer.echo(
                "Run 'flowtime sim list' for the available template ids; add your own with --templates-dir.",
                err=True,
            )
        raise typer.Exit(USAGE if exc.code in _USAGE_CODES else FAILURE) from None


def _catalogue() -> Catalogue:
    """The catalogue, with a note on stderr when files of --templates-dir could not be loaded."""
    directory = settings_of().templates_dir
    catalogue = load_catalogue(directory)
    if catalogue.skipped:
        typer.echo(
            f"Warning: {catalogue.skipped} template file(s) in '{directory}' could not be loaded and were skipped; "
            "run 'flowtime sim validate FILE' on a file to see why.",
            err=True,
        )
    return catalogue


@app.command("list")
def list_templates(output_format: FormatOpt = OutputFormat.text) -> None:
    """List the templates of the catalogue (shipped plus --templates-dir)."""
    with _reported():
        templates = _catalogue().templates
    if output_format is OutputFormat.json:
        print_json([t.summary() for t in templates])
        return
    typer.echo(f"Templates: {len(templates)}")
    for template in templates:
        typer.echo("")
        typer.echo(f"ID: {template.id}")
        typer.echo(f"Title: {template.title or ''}")
        typer.echo(f"Description: {template.description or ''}")
        typer.echo(f"Parameters: {len(template.parameters)}")


@app.command("show")
def show(template_id: TemplateArg, output_format: FormatOpt = OutputFormat.text) -> None:
    """Show one template and its typed parameters."""
    with _reported():
        template = _catalogue().get(template_id)
    if output_format is OutputFormat.json:
        print_json(template.detail())
        return
    typer.echo(f"ID: {template.id}")
    typer.echo(f"Title: {template.title or ''}")
    typer.echo(f"Version: {template.version or ''}")
    typer.echo(f"Description: {template.description or ''}")
    typer.echo(f"Tags: {', '.join(template.tags)}")
    typer.echo(f"Capture key: {template.capture_key or ''}")
    typer.echo(f"Stochastic: {'yes' if template.stochastic else 'no'}")
    typer.echo(f"Parameters ({len(template.parameters)}):")
    for parameter in template.parameters:
        typer.echo(f"  {_parameter_line(parameter)}")
        if parameter.description:
            typer.echo(f"      {parameter.description}")


@app.command("generate")
def generate(
    template_id: TemplateArg,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="NAME=VALUE (repeatable); VALUE is read as JSON when it parses, else text."),
    ] = None,
    params: Annotated[
        Path | None, typer.Option("--params", help="JSON file with an object of parameter values.")
    ] = None,
    mode: Annotated[str | None, typer.Option("--mode", help="simulation or telemetry.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the model here (default: stdout).")] = None,
    provenance: Annotated[
        Path | None, typer.Option("--provenance", help="Also write the provenance block as JSON here.")
    ] = None,
    embed_provenance: Annotated[
        bool,
        typer.Option("--embed-provenance", help="Accepted for compatibility; provenance is always embedded."),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Print generation details to stderr.")] = False,
) -> None:
    """Generate the engine model of a template with its defaults overridden by --params and --param."""
    if embed_provenance and provenance is not None:
        typer.echo("Error [usage]: --embed-provenance and --provenance cannot be used together.", err=True)
        raise typer.Exit(USAGE)
    with _reported(f"Run 'flowtime sim show {template_id}' for the parameters, their types and bounds."):
        pairs = _split_params(param or [])
        values = _read_params(params) if params is not None else {}
        catalogue = _catalogue()
        values.update(_typed_params(catalogue.get(template_id), pairs))
        result = catalogue.generate(template_id, values, mode=mode)
        for warning in result.warnings:
            typer.echo(warning.line(), err=True)
        if verbose:
            _print_details(result)
        if out is None:
            typer.echo(result.model, nl=False)
        else:
            _write(out, result.model)
        if provenance is not None:
            _write(provenance, dumps_json(dict(result.provenance)))


@app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Template YAML file to check.")],
    output_format: FormatOpt = OutputFormat.text,
) -> None:
    """Check a template file: loading rules, the JSON Schema, and generation with its defaults."""
    with _reported():
        raw = _read_bytes(file, "template_unreadable", f"Cannot read template file '{file}'")
    report = check_template(raw, origin=str(file))
    if output_format is OutputFormat.json:
        print_json(report.to_dict())
    else:
        for problem in (*report.errors, *report.warnings):
            typer.echo(problem.line())
        errors = len(report.errors)
        typer.echo("Template is valid." if report.valid else f"Template is invalid: {errors} error(s).")
    if not report.valid:
        raise typer.Exit(1)


def _parameter_line(parameter: Parameter) -> str:
    """``name: type = default [min..max]``; arrays show their element type."""
    kind = f"array of {parameter.array_of}" if parameter.type == "array" else parameter.type
    line = f"{parameter.name}: {kind}"
    line += f" = {render_value(parameter.default)}" if parameter.default is not None else " (required)"
    if parameter.minimum is not None or parameter.maximum is not None:
        low = "" if parameter.minimum is None else render_value(parameter.minimum)
        high = "" if parameter.maximum is None else render_value(parameter.maximum)
        line += f" [{low}..{high}]"
    return line


def _split_params(items: list[str]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"--param '{item}' must be NAME=VALUE, e.g. --param bins=12.", code="invalid_param")
        pairs.append((name.strip(), text))
    return pairs


def _typed_params(template: Template, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``--param`` values: the text itself for a string parameter (``--param region=123`` is the string
    ``123``), otherwise JSON when the text parses (``12``, ``[1, 2]``, ``true``), else the text."""
    values: dict[str, Any] = {}
    for name, text in pairs:
        declared = template.parameter(name)
        if declared is not None and declared.type == "string":
            values[name] = text
            continue
        try:
            values[name] = json.loads(text)
        except ValueError:
            values[name] = text
    return values


def _read_params(path: Path) -> dict[str, Any]:
    raw = _read_bytes(path, "params_unreadable", f"Cannot read parameter file '{path}'")
    try:
        values = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"Parameter file '{path}' is not UTF-8 text.", code="invalid_params") from exc
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"Parameter file '{path}' is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).",
            code="invalid_params",
        ) from exc
    if not isinstance(values, dict):
        raise InvalidInput(
            f"Parameter file '{path}' must hold a JSON object of parameter values, e.g. {{\"bins\": 12}}.",
            code="invalid_params",
        )
    return values


def _read_bytes(path: Path, code: str, message: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise FlowTimeError(f"{message}: {exc.strerror or exc}.", code=code) from exc


def _write(path: Path, text: str) -> None:
    try:
        path.write_bytes(text.encode("utf-8"))
    except OSError as exc:
        raise WriteFailed(f"Cannot write '{path}': {exc.strerror or exc}.") from exc


def _print_details(result: GenerationResult) -> None:
    flags = result.metadata
    typer.echo(f"Mode: {result.mode}", err=True)
    typer.echo(f"Schema Version: {flags['schemaVersion']}", err=True)
    typer.echo(f"Has Window: {str(flags['hasWindow']).lower()}", err=True)
    typer.echo(f"Has Topology: {str(flags['hasTopology']).lower()}", err=True)
    typer.echo(f"Has Telemetry Sources: {str(flags['hasTelemetrySources']).lower()}", err=True)
    typer.echo(f"Model ID: {result.model_id}", err=True)
    typer.echo(f"Model Hash: {flags['modelHash']}", err=True)
