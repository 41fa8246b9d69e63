"""The request log (events 5001, 5002), the body limit, cross-site write refusal and the last-resort 500."""

from __future__ import annotations

import logging
import secrets
import time
import traceback
from typing import Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flowtime.api.errors import FAILURE_KEY, INTERNAL_ERROR
from flowtime.api.responses import WireJSONResponse
from flowtime.errors import InvalidInput
from flowtime.logs import get_logger, log_event

MAX_BODY_BYTES = 16 * 1024 * 1024
_LOG = get_logger("api")
_TOO_LARGE = "Request body exceeds the 16 MiB limit."
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class RequestLogMiddleware:
    """Logs every request once with its status and duration, tags it with ``X-Request-Id``, caps bodies,
    refuses cross-site writes.

    Pure ASGI (not ``BaseHTTPMiddleware``) so streaming bodies are not buffered. An exception that escapes
    the route handlers becomes the generic 500 body here; it, and every coded 5xx, is logged (event 5002)
    with the request id, the full message and, for exceptions, the traceback. Responses never carry them.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            refusal = _refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, send_with_id)
            else:
                await self.app(scope, _limited(receive), send_with_id)
        except Exception as exc:
            _failed(scope, request_id, INTERNAL_ERROR["code"], f"{type(exc).__name__}: {exc}", exc)
            if not response_started:
                await WireJSONResponse(dict(INTERNAL_ERROR), status_code=500)(scope, receive, send_with_id)
        else:
            coded = scope["state"].get(FAILURE_KEY)
            if coded is not None:
                _failed(scope, request_id, coded.code, coded.message, coded)
        finally:
            elapsed = round((time.perf_counter() - started) * 1000, 3)
            log_event(
                _LOG,
                "HttpRequest",
                5001,
                level=logging.INFO,
                message=f"{scope.get('method')} {scope.get('path')} answered {status} in {elapsed} ms",
                method=scope.get("method"),
                path=scope.get("path"),
                status=status,
                elapsedMs=elapsed,
                requestId=request_id,
            )


def _failed(scope: Scope, request_id: str, code: str, error: str, exc: BaseException) -> None:
    """Event 5002: what a 5xx body does not say (the full message, the traceback with its causes)."""
    log_event(
        _LOG,
        "HttpRequestFailed",
        5002,
        level=logging.ERROR,
        message=f"Request {request_id} failed with {code}: {error}",
        requestId=request_id,
        method=scope.get("method"),
        path=scope.get("path"),
        code=code,
        error=error,
        traceback="".join(traceback.format_exception(exc)),
    )


def _refusal(scope: Scope) -> WireJSONResponse | None:
    """The answer to a request refused before routing: a declared body over the limit, or a cross-site write.

    A browser sends ``Origin`` with every cross-origin POST; one that names another host than the request's
    is refused, so a web page cannot create runs or captures on a server that listens on localhost.
    Clients that send no ``Origin`` (curl, the CLI, scripts) are unaffected.
    """
    headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope.get("headers", [])}
    try:
        declared = int(headers.get("content-length", "0"))
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return WireJSONResponse({"error": _TOO_LARGE, "code": "payload_too_large"}, status_code=413)
    origin = headers.get("origin")
    if scope.get("method") in _SAFE_METHODS or origin is None:
        return None
    if urlsplit(origin).netloc.lower() != headers.get("host", "").lower():
        message = f"Cross-origin request refused: Origin '{origin}' is not this server."
        return WireJSONResponse({"error": message, "code": "forbidden_origin"}, status_code=403)
    return None


def _limited(receive: Receive) -> Receive:
    """A receive channel that refuses bodies sent without a length once they pass the limit."""
    total = 0

    async def receive_limited() -> Message:
        nonlocal total
        message: dict[str, Any] = dict(await receive())
        if message["type"] == "http.request":
            total += len(message.get("body", b""))
            if total > MAX_BODY_BYTES:
                raise InvalidInput(_TOO_LARGE, code="payload_too_large")
        return message

    return receive_limited


__all__ = ["MAX_BODY_BYTES", "RequestLogMiddleware"]
