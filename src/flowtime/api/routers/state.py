"""Time-travel state of a run, its series index and series CSVs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query

from flowtime.api.deps import ServiceDep
from flowtime.api.errors import status_for
from flowtime.api.openapi import errors
from flowtime.api.responses import CsvResponse, WireJSONResponse
from flowtime.api.schemas import SeriesIndex, StateSnapshot, StateWindow
from flowtime.errors import FlowTimeError
from flowtime.logs import get_logger, log_event

router = APIRouter(prefix="/v1/runs/{runId}", tags=["state"], default_response_class=WireJSONResponse)
_LOG = get_logger("state")


@router.get("/state", response_model=StateSnapshot, responses=errors(400, 404, 409, 412, 422, 500))
def state(
    runId: str,
    service: ServiceDep,
    bin_index: Annotated[str | None, Query(alias="binIndex", description="integer bin index")] = None,
) -> Any:
    """Every topology node at one bin: metrics, derived metrics, colour, sources and warnings."""
    return WireJSONResponse(_logged(runId, lambda: service.state(runId, bin_index)), normalized=True)


@router.get("/state_window", response_model=StateWindow, responses=errors(400, 404, 409, 412, 413, 422, 500))
def state_window(
    runId: str,
    service: ServiceDep,
    start_bin: Annotated[str | None, Query(alias="startBin", description="integer bin index")] = None,
    end_bin: Annotated[str | None, Query(alias="endBin", description="integer bin index (inclusive)")] = None,
) -> Any:
    """Every topology node's series over a bin range, with per-bin colours."""
    answer = _logged(runId, lambda: service.state_window(runId, start_bin, end_bin))
    return WireJSONResponse(answer, normalized=True)


@router.get("/index", response_model=SeriesIndex, responses=errors(400, 404))
def series_index(runId: str, service: ServiceDep) -> Any:
    """The run's stored ``series/index.json``."""
    return WireJSONResponse(service.series_index(runId))


@router.get(
    "/series/{seriesId}",
    response_class=CsvResponse,
    responses={
        200: {"content": {"text/csv": {}}, "description": "The stored CSV bytes."},
        **errors(400, 404),
    },
)
def series(runId: str, seriesId: str, service: ServiceDep) -> Any:
    """One stored series CSV; ``seriesId`` may be a bare node id (``http_served``)."""
    return CsvResponse(service.series_csv(runId, seriesId))


def _logged(run_id: str, answer: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a state query, logging event 3004 when it fails with a coded error."""
    try:
        return answer()
    except FlowTimeError as exc:
        status = status_for(exc)
        log_event(
            _LOG,
            "StateQueryFailed",
            3004,
            level=logging.ERROR if status >= 500 else logging.WARNING,
            message=f"State query for run {run_id} failed: {status} {exc.code}",
            runId=run_id,
            status=status,
            code=exc.code,
        )
        raise
