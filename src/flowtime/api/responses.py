"""Response classes: compact UTF-8 JSON whose numbers follow ``artifacts.md`` §5.2, and CSV bytes."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse, Response

from flowtime.runs import to_wire


class WireJSONResponse(JSONResponse):
    """``application/json; charset=utf-8``; ``8.0`` renders as ``8`` and NaN/±∞ as ``null``.

    ``normalized=True`` skips the per-value pass for content already in wire form (state answers, whose
    windows hold tens of thousands of numbers built by ``wire_series``).
    """

    media_type = "application/json; charset=utf-8"

    def __init__(self, content: Any, status_code: int = 200, *, normalized: bool = False, **kw: Any) -> None:
        self.normalized = normalized
        super().__init__(content, status_code, **kw)

    def render(self, content: Any) -> bytes:
        wire = content if self.normalized else to_wire(content)
        return json.dumps(wire, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


class SchemaJSONResponse(WireJSONResponse):
    media_type = "application/schema+json; charset=utf-8"


class CsvResponse(Response):
    media_type = "text/csv"


__all__ = ["CsvResponse", "SchemaJSONResponse", "WireJSONResponse"]
