"""Explicit telemetry generation and the capture listing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from flowtime.api.deps import JsonBody, ServiceDep
from flowtime.api.openapi import errors, json_body
from flowtime.api.responses import WireJSONResponse
from flowtime.api.schemas import CaptureConflict, CaptureCreate, CaptureList, CaptureResponse

router = APIRouter(prefix="/v1/telemetry/captures", tags=["telemetry"], default_response_class=WireJSONResponse)


@router.post(
    "",
    response_model=CaptureResponse,
    responses={
        **errors(400, 403, 404, 413, 422, 500),
        409: {"model": CaptureConflict, "description": "Exists or in progress."},
    },
    openapi_extra=json_body(CaptureCreate),
)
async def generate_capture(service: ServiceDep, body: JsonBody) -> Any:
    """Generate a capture bundle from a simulation run (409 when one exists, unless overwrite)."""
    return WireJSONResponse(await run_in_threadpool(service.generate_capture, body))


@router.get("", response_model=CaptureList)
def list_captures(
    service: ServiceDep,
    template_id: Annotated[str | None, Query(alias="templateId")] = None,
    source_run_id: Annotated[str | None, Query(alias="sourceRunId")] = None,
) -> Any:
    """Existing capture bundles, newest first, named by the value to pass to ``POST /v1/runs``."""
    return WireJSONResponse(service.list_captures(template_id=template_id, source_run_id=source_run_id))
