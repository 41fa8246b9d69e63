"""``flowtime serve``: the API and UI on one port, with the roots of the global options."""

from __future__ import annotations

import logging
import socket
from dataclasses import replace
from typing import Annotated

import typer
import uvicorn

from flowtime.cli.context import settings_of
from flowtime.cli.exit_codes import Convention
from flowtime.cli.output import handle_errors
from flowtime.errors import FlowTimeError
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
    listener = _listen(settings.host, settings.port)
    host, port = listener.getsockname()[:2]
    typer.echo(f"FlowTime listening on http://{_url_host(host)}:{port}", err=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[listener])


def _listen(host: str, port: int) -> socket.socket:
    """The bound, listening socket, so a taken port is a clear error before "listening" is printed."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        listener = socket.socket(family, kind, proto)
    except OSError as exc:
        raise FlowTimeError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.", code="listen_failed") from None
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(2048)
    except OSError as exc:
        listener.close()
        raise FlowTimeError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.", code="listen_failed") from None
    return listener


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


__all__ = ["serve"]
