"""Response classes: compact UTF-8 JSON whose numbers follow ``artifacts.md`` §5.2, and CSV bytes."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse, Response

from flowtime.runs import to_wire


class WireJSONResponse(JSONResponse):
    """``application/json; charset=utf-8``; ``8.0`` renders as ``8`` and NaN/±∞ as ``null``."""

    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        return json.dumps(
            to_wire(content), ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode()


class SchemaJSONResponse(WireJSONResponse):
    media_type = "application/schema+json; charset=utf-8"


class CsvResponse(Response):
    media_type = "text/csv"


__all__ = ["CsvResponse", "SchemaJSONResponse", "WireJSONResponse"]
