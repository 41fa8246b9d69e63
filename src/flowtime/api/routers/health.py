"""Liveness and service health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from flowtime.api.deps import ServiceDep
from flowtime.api.responses import WireJSONResponse
from flowtime.api.schemas import Health, HealthBasic

router = APIRouter(tags=["health"], default_response_class=WireJSONResponse)


@router.get("/healthz", response_model=HealthBasic)
def healthz() -> Any:
    """Liveness: the process answers."""
    return WireJSONResponse({"status": "ok"})


@router.get("/v1/healthz", response_model=Health)
def service_health(service: ServiceDep) -> Any:
    """Build, capabilities, uptime and whether the roots are writable."""
    return WireJSONResponse(service.health())
