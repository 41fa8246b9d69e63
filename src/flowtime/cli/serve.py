"""``flowtime serve``: the API and UI on one port, with the roots of the global options."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Annotated

import typer
import uvicorn

from flowtime.cli.context import settings_of
from flowtime.cli.exit_codes import Convention
from flowtime.cli.output import handle_errors
from flowtime.logs import configure_logging
from flowtime.server import create_app


@handle_errors(Convention.LOCAL)
def serve(
    host: Annotated[str | None, typer.Option("--host", help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="TCP port (default 8080).")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Create a few demo runs when RunsRoot has none.")] = False,
    state_window_max: Annotated[
        int | None,
        typer.Option("--state-window-max", help="Largest /state_window range in bins (default 500)."),
    ] = None,
) -> None:
    """Run the FlowTime API and web UI until interrupted."""
    settings = settings_of()
    changes: dict[str, object] = {"demo": demo}
    if host is not None:
        changes["host"] = host
    if port is not None:
        changes["port"] = port
    if state_window_max is not None:
        changes["state_window_max"] = state_window_max
    settings = replace(settings, **changes)  # type: ignore[arg-type]
    configure_logging(getattr(logging, settings.log_level.upper(), logging.INFO), log_format=settings.log_format)
    app = create_app(settings)
    typer.echo(f"FlowTime listening on http://{settings.host}:{settings.port}", err=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)


__all__ = ["serve"]
