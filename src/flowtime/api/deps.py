"""Annotated dependency aliases: the service a route uses and the JSON body it was sent."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Request

from flowtime.errors import InvalidInput
from flowtime.runs import RunService, Settings


def get_service(request: Request) -> RunService:
    service: RunService = request.app.state.service
    return service


def get_settings(request: Request) -> Settings:
    return get_service(request).settings


MAX_BODY_DEPTH = 64


async def read_json_body(request: Request) -> Any:
    """The parsed body, or None when empty; ``invalid_json`` when it is not strict JSON (``api.md`` §1.3).

    Bodies nested deeper than ``MAX_BODY_DEPTH`` are refused here: no request member needs it, and deep
    nesting would otherwise exhaust the recursion of the parser or of later code.
    """
    data = await request.body()
    if not data.strip():
        return None
    too_deep = InvalidInput(f"Request body is nested more than {MAX_BODY_DEPTH} levels deep.", code="invalid_request")
    try:
        body = json.loads(data.decode("utf-8-sig"), parse_constant=_not_json)
    except RecursionError:
        raise too_deep from None
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("Request body is not valid JSON.", code="invalid_json") from None
    if _depth(body) > MAX_BODY_DEPTH:
        raise too_deep
    return body


def _not_json(name: str) -> Any:
    """``NaN`` and ``Infinity`` are JavaScript, not JSON."""
    raise ValueError(name)


def _depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value, without recursion (a scalar is 0, ``[]`` is 1)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if level <= MAX_BODY_DEPTH:
            stack.extend((child, level + 1) for child in children)
    return deepest


ServiceDep = Annotated[RunService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
JsonBody = Annotated[Any, Depends(read_json_body)]

__all__ = ["MAX_BODY_DEPTH", "JsonBody", "ServiceDep", "SettingsDep", "get_service", "read_json_body"]
