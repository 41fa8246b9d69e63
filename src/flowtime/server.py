"""The one ASGI application: API routers, the web UI (when present) and the error handlers."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from flowtime import __version__
from flowtime.api.errors import install_error_handlers
from flowtime.api.middleware import RequestLogMiddleware
from flowtime.api.openapi import install_openapi
from flowtime.api.responses import WireJSONResponse
from flowtime.api.routers import health, runs, state, telemetry, templates
from flowtime.runs import RunService, Settings, seed_demo_runs


def create_app(settings: Settings, *, service: RunService | None = None) -> FastAPI:
    """Build the app for ``settings``: roots created and canonicalised, catalogue loaded, routes mounted.

    With ``settings.demo`` and an empty RunsRoot, a few demo runs are created at start-up. The web UI is
    mounted when ``flowtime.web`` exposes a ``router``.
    """
    settings = settings.ensure_roots()
    service = service or RunService(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.demo:
            seed_demo_runs(service)
        yield

    app = FastAPI(
        title="FlowTime",
        version=__version__,
        description="Flow models of service systems: templates, runs, telemetry, replay, time travel.",
        default_response_class=WireJSONResponse,
        lifespan=lifespan,
        # Swagger UI and ReDoc load their scripts from a CDN; nothing here fetches from outside at run time.
        # The OpenAPI document itself stays at /openapi.json.
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service
    app.state.settings = settings
    app.include_router(health.router)
    for prefix in ("/v1/templates", "/api/v1/templates"):
        app.include_router(templates.router, prefix=prefix)
    app.include_router(runs.router)
    app.include_router(state.router)
    app.include_router(telemetry.router)
    web = _web_router()
    if web is not None:
        app.include_router(web)
    install_error_handlers(app)
    install_openapi(app)
    app.add_middleware(RequestLogMiddleware)
    return app


def _web_router() -> APIRouter | None:
    """``flowtime.web.router`` when the UI package provides one (it is optional for the API)."""
    web = importlib.import_module("flowtime.web")
    router = getattr(web, "router", None)
    return router if isinstance(router, APIRouter) else None


__all__ = ["create_app"]
