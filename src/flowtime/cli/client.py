"""The client commands' one door to FlowTime: the service in-process, or a running server over HTTP.

Both answer with the API's JSON bodies and raise FlowTimeErrors of the family the HTTP status implies,
so commands print and exit the same way whichever side answered.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from typing import Any
from urllib.parse import quote

import httpx

from flowtime.api.errors import error_body
from flowtime.errors import Conflict, FlowTimeError, InvalidInput, NotFound, Unprocessable
from flowtime.logs import get_logger
from flowtime.runs.service import RunService
from flowtime.runs.settings import Settings

SERVER_ENV = "FLOWTIME_SERVER"
_TIMEOUT = httpx.Timeout(300.0, connect=10.0)


class _Remote:
    """Mixin of errors answered by a server: ``to_dict`` is the exact response body."""

    body: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return self.body


class RemoteInvalidInput(_Remote, InvalidInput):
    pass


class RemoteNotFound(_Remote, NotFound):
    pass


class RemoteConflict(_Remote, Conflict):
    pass


class RemoteUnprocessable(_Remote, Unprocessable):
    pass


class RemoteFailure(_Remote, FlowTimeError):
    pass


def remote_error(status: int, body: Any) -> FlowTimeError:
    """The FlowTimeError a non-2xx answer stands for: 400/413 invalid, 404, 409, 412/422, else failure."""
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        body = {
            "error": f"Server answered HTTP {status}.",
            "code": "internal_error" if status >= 500 else "http_error",
        }
    families: Mapping[int, type[_Remote]] = {
        400: RemoteInvalidInput,
        413: RemoteInvalidInput,
        404: RemoteNotFound,
        409: RemoteConflict,
        412: RemoteUnprocessable,
        422: RemoteUnprocessable,
    }
    cls = families.get(status, RemoteInvalidInput if 400 <= status < 500 else RemoteFailure)
    error = cls(body["error"], code=str(body.get("code") or "http_error"))  # type: ignore[call-arg]
    error.body = body
    return error  # type: ignore[return-value]


class Client:
    """Answers of the client endpoints; in-process unless ``server`` (or ``FLOWTIME_SERVER``) names a URL."""

    def __init__(self, settings: Settings, server: str | None = None, *, quiet: bool = False) -> None:
        """``quiet``: the in-process service logs only errors (its 4xx outcomes log at warning level, and a
        CLI user asked for an answer; the ``Error [code]: message`` line already says what went wrong)."""
        self.settings = settings
        self.server = (server or os.environ.get(SERVER_ENV) or "").strip().rstrip("/") or None
        self.quiet = quiet

    @cached_property
    def service(self) -> RunService:
        if self.quiet:
            logger = get_logger()
            logger.setLevel(max(logger.getEffectiveLevel(), logging.ERROR))
        return RunService(self.settings.ensure_roots())

    def create_run(self, body: Mapping[str, Any]) -> dict[str, Any]:
        if self.server is None:
            with _as_api():
                return self.service.create_run(dict(body))[1]
        return self._call("POST", "/v1/runs", json=body)

    def list_runs(self, **query: Any) -> dict[str, Any]:
        if self.server is None:
            with _as_api():
                return self.service.list_runs(**query)
        names = {"template_id": "templateId", "has_warnings": "hasWarnings", "page_size": "pageSize"}
        params = {names.get(k, k): _query_text(v) for k, v in query.items() if v is not None}
        return self._call("GET", "/v1/runs", params=params)

    def show_run(self, run_id: str) -> dict[str, Any]:
        if self.server is None:
            with _as_api():
                return self.service.show_run(run_id)
        return self._call("GET", f"/v1/runs/{_segment(run_id)}")

    def state(self, run_id: str, bin_index: int) -> dict[str, Any]:
        if self.server is None:
            with _as_api():
                return self.service.state(run_id, bin_index)
        return self._call("GET", f"/v1/runs/{_segment(run_id)}/state", params={"binIndex": bin_index})

    def state_window(self, run_id: str, start_bin: int, end_bin: int) -> dict[str, Any]:
        if self.server is None:
            with _as_api():
                return self.service.state_window(run_id, start_bin, end_bin)
        params = {"startBin": start_bin, "endBin": end_bin}
        return self._call("GET", f"/v1/runs/{_segment(run_id)}/state_window", params=params)

    def generate_capture(self, body: Mapping[str, Any]) -> dict[str, Any]:
        if self.server is None:
            with _as_api():
                return self.service.generate_capture(dict(body))
        return self._call("POST", "/v1/telemetry/captures", json=body)

    def list_captures(self, *, template_id: str | None = None, source_run_id: str | None = None) -> dict[str, Any]:
        if self.server is None:
            with _as_api():
                return self.service.list_captures(template_id=template_id, source_run_id=source_run_id)
        params = {k: v for k, v in (("templateId", template_id), ("sourceRunId", source_run_id)) if v is not None}
        return self._call("GET", "/v1/telemetry/captures", params=params)

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        url = f"{self.server}{path}"
        try:
            response = httpx.request(method, url, timeout=_TIMEOUT, **kwargs)
        except httpx.HTTPError as exc:
            raise FlowTimeError(
                f"Cannot reach the FlowTime server at {self.server}: {type(exc).__name__}.",
                code="server_unreachable",
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.is_success and isinstance(body, dict):
            return body
        raise remote_error(response.status_code, body)


@contextmanager
def _as_api() -> Iterator[None]:
    """In-process failures carry the body the API would send (a 5xx body names no path); the message stays."""
    try:
        yield
    except FlowTimeError as exc:
        body = error_body(exc)
        if body == exc.to_dict():
            raise
        failure = RemoteFailure(exc.message, code=exc.code)
        failure.body = body
        raise failure from exc


def _segment(value: str) -> str:
    """A path segment, percent-encoded so an id with ``/`` or ``..`` reaches the server's validation."""
    return quote(value, safe="")


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


__all__ = ["SERVER_ENV", "Client", "remote_error"]
