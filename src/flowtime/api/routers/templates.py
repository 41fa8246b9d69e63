"""Template catalogue and generation; mounted at ``/v1/templates`` and ``/api/v1/templates``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from flowtime.api.deps import JsonBody, ServiceDep
from flowtime.api.openapi import errors
from flowtime.api.responses import SchemaJSONResponse, WireJSONResponse
from flowtime.api.schemas import GenerationResult, TemplateCategories, TemplateDetail, TemplateSummary

router = APIRouter(tags=["templates"], default_response_class=WireJSONResponse)

_GENERATE_BODY = {
    "requestBody": {
        "required": False,
        "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
    }
}


@router.get("", response_model=list[TemplateSummary])
def list_templates(service: ServiceDep, category: Annotated[str | None, Query()] = None) -> Any:
    """Template summaries sorted by id."""
    return WireJSONResponse(service.list_templates(category))


@router.get("/categories", response_model=TemplateCategories)
def categories() -> Any:
    """The template categories (all templates are ``general``)."""
    return WireJSONResponse({"categories": ["general"]})


@router.get(
    "/schema",
    response_class=SchemaJSONResponse,
    responses={200: {"content": {"application/schema+json": {}}}},
)
def schema(service: ServiceDep) -> Any:
    """The JSON Schema every template document is checked against."""
    return SchemaJSONResponse(service.template_schema())


@router.get("/{templateId}", response_model=TemplateDetail, responses=errors(404))
def template_detail(templateId: str, service: ServiceDep) -> Any:
    """A template with its typed parameter declarations."""
    return WireJSONResponse(service.template_detail(templateId))


@router.post(
    "/{templateId}/generate",
    response_model=GenerationResult,
    responses=errors(400, 403, 404, 413),
    openapi_extra=_GENERATE_BODY,
)
async def generate(
    templateId: str,
    service: ServiceDep,
    body: JsonBody,
    mode: Annotated[str | None, Query(description="simulation | telemetry")] = None,
    embed_provenance: Annotated[str | None, Query(description="accepted and ignored")] = None,
) -> Any:
    """Generate the engine model of a template from a flat parameter object; nothing is written."""
    result = await run_in_threadpool(service.generate_template, templateId, body, mode)
    return WireJSONResponse(result)
