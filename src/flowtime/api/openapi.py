"""OpenAPI additions: request bodies that routes read as raw JSON, and the error body, documented from models."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from flowtime.api.schemas import REQUEST_BODIES, ErrorBody

_REF = "#/components/schemas/{model}"


def json_body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` of a route whose handler parses the body itself (so messages stay the spec's)."""
    return {
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}},
        }
    }


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses`` entries for the error statuses a route can answer: JSON even on a CSV route."""
    content = {"application/json": {"schema": {"$ref": _REF.format(model=ErrorBody.__name__)}}}
    return {status: {"description": "Error body {error, code}.", "content": content} for status in statuses}


def install_openapi(app: FastAPI) -> None:
    """Generate the document once, adding the request-body and error-body schemas to ``components``."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for model in (*REQUEST_BODIES, ErrorBody):
            schema = model.model_json_schema(ref_template=_REF, by_alias=True)
            schemas.update(schema.pop("$defs", {}))
            schemas[model.__name__] = schema
        _answer_validation_with_400(document)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _answer_validation_with_400(document: dict[str, Any]) -> None:
    """FastAPI documents a 422 ``HTTPValidationError`` on every route with parameters; this API answers a
    malformed request with 400 and the error body (api.md §2), so the document says that instead."""
    framework = _REF.format(model="HTTPValidationError")
    for path in document.get("paths", {}).values():
        for operation in path.values():
            responses = operation.get("responses", {})
            default = responses.get("422", {}).get("content", {}).get("application/json", {}).get("schema", {})
            if default.get("$ref") == framework:
                del responses["422"]
                responses.setdefault("400", errors(400)[400])
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)


__all__ = ["errors", "install_openapi", "json_body"]
