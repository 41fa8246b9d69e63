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


async def read_json_body(request: Request) -> Any:
    """The parsed body, or None when empty; ``invalid_json`` when it is not JSON (``api.md`` §1.3)."""
    data = await request.body()
    if not data.strip():
        return None
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("Request body is not valid JSON.", code="invalid_json") from None


ServiceDep = Annotated[RunService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
JsonBody = Annotated[Any, Depends(read_json_body)]

__all__ = ["JsonBody", "ServiceDep", "SettingsDep", "get_service", "read_json_body"]
