"""Run creation, listing and detail."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from flowtime.api.deps import JsonBody, ServiceDep
from flowtime.api.openapi import errors, json_body
from flowtime.api.responses import WireJSONResponse
from flowtime.api.schemas import RunCreate, RunCreateResponse, RunList

router = APIRouter(prefix="/v1/runs", tags=["runs"], default_response_class=WireJSONResponse)


@router.post(
    "",
    status_code=201,
    response_model=RunCreateResponse,
    responses={
        200: {"model": RunCreateResponse, "description": "Dry run: the plan."},
        **errors(400, 403, 404, 409, 413, 422, 500),
    },
    openapi_extra=json_body(RunCreate),
)
async def create_run(service: ServiceDep, body: JsonBody) -> Any:
    """Generate a template's model and write a simulation run or a telemetry replay (or plan it)."""
    created, response = await run_in_threadpool(service.create_run, body)
    if not created:
        return WireJSONResponse(response, status_code=200)
    run_id = response["metadata"]["runId"]
    return WireJSONResponse(response, status_code=201, headers={"Location": f"/v1/runs/{run_id}"})


@router.get("", response_model=RunList, responses=errors(400))
def list_runs(
    service: ServiceDep,
    mode: Annotated[str | None, Query(description="simulation | telemetry")] = None,
    template_id: Annotated[str | None, Query(alias="templateId")] = None,
    has_warnings: Annotated[str | None, Query(alias="hasWarnings", description="true | false")] = None,
    page: Annotated[str | None, Query(description="integer ≥ 1 (default 1)")] = None,
    page_size: Annotated[str | None, Query(alias="pageSize", description="integer ≥ 1, capped at 200")] = None,
) -> Any:
    """Runs, newest first, filtered and paged."""
    return WireJSONResponse(
        service.list_runs(mode=mode, template_id=template_id, has_warnings=has_warnings, page=page, page_size=page_size)
    )


@router.get("/{runId}", response_model=RunCreateResponse, responses=errors(400, 404, 500))
def show_run(runId: str, service: ServiceDep) -> Any:
    """A stored run: metadata, telemetry availability, grid, parameters and warnings."""
    return WireJSONResponse(service.show_run(runId))
