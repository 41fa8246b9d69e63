"""FlowTimeError -> HTTP status and ``{"error", "code"}`` body: the API's only exception handlers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from flowtime.api.responses import WireJSONResponse
from flowtime.errors import Conflict, FlowTimeError, InvalidInput, NotFound, Unprocessable, WriteFailed

INTERNAL_ERROR = {"error": "Internal server error.", "code": "internal_error"}
# Where a coded 5xx is left in the request scope's state for the request log (its body hides the message).
FAILURE_KEY = "failure"

_STATUS_BY_FAMILY: Mapping[type[FlowTimeError], int] = {
    InvalidInput: 400,
    NotFound: 404,
    Conflict: 409,
    Unprocessable: 422,
    WriteFailed: 500,
}
# Codes whose status the family table cannot express (api.md §6.1, §6.6, §1.1); the family still gives the
# CLI exit code (412 -> 5 like 422, 413 -> 2 like 400).
_STATUS_BY_CODE: Mapping[str, int] = {
    "topology_missing": 412,
    "window_too_large": 413,
    "payload_too_large": 413,
}
_FRAMEWORK_CODES: Mapping[int, str] = {
    400: "invalid_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}
_ABSOLUTE_PATH = re.compile(r"(?:^|[\s'\"(=:])/[^\s'\"]+")
_SAFE_5XX_MESSAGES: Mapping[str, str] = {
    "write_failed": "The run could not be written; nothing was changed.",
    "capture_failed": "Telemetry generation failed.",
}


def status_for(exc: FlowTimeError) -> int:
    """The most specific match wins: an explicit code first, then the family along the MRO."""
    if exc.code in _STATUS_BY_CODE:
        return _STATUS_BY_CODE[exc.code]
    for cls in type(exc).__mro__:
        if cls in _STATUS_BY_FAMILY:
            return _STATUS_BY_FAMILY[cls]
    return 500


def error_body(exc: FlowTimeError) -> dict[str, Any]:
    """The error's own body for 4xx; for 5xx only code and a message without paths or type names."""
    body = exc.to_dict()
    if status_for(exc) < 500:
        return body
    message = str(body.get("error") or "")
    if not message or _ABSOLUTE_PATH.search(message) or "Traceback" in message:
        message = _SAFE_5XX_MESSAGES.get(exc.code, INTERNAL_ERROR["error"])
    return {"error": message, "code": exc.code}


def framework_error(status: int, message: str) -> WireJSONResponse:
    code = _FRAMEWORK_CODES.get(status, "invalid_request" if status < 500 else "internal_error")
    return WireJSONResponse({"error": message, "code": code}, status_code=status)


async def _flowtime_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FlowTimeError)
    status = status_for(exc)
    if status >= 500:
        request.scope.setdefault("state", {})[FAILURE_KEY] = exc
    return WireJSONResponse(error_body(exc), status_code=status)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    messages = [_validation_message(e) for e in exc.errors()]
    body: dict[str, Any] = {"error": "; ".join(messages) or "Request is invalid.", "code": "invalid_request"}
    return WireJSONResponse(body, status_code=400)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        message = f"No route matches '{request.url.path}'."
    elif exc.status_code == 405:
        message = f"Method '{request.method}' is not allowed for '{request.url.path}'."
    else:
        message = exc.detail if isinstance(exc.detail, str) else "Request failed."
    response = framework_error(exc.status_code, message)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


def _validation_message(error: Mapping[str, Any]) -> str:
    where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path"))
    text = str(error.get("msg", "is invalid"))
    return f"{where}: {text}" if where else text


def install_error_handlers(app: FastAPI) -> None:
    """Domain errors, framework validation and unknown routes all answer ``{error, code}``."""
    app.add_exception_handler(FlowTimeError, _flowtime_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


__all__ = [
    "FAILURE_KEY",
    "INTERNAL_ERROR",
    "error_body",
    "framework_error",
    "install_error_handlers",
    "status_for",
]
