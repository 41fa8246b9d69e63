"""Lenient reads of the JSON documents capture, generation and listings consult: unreadable means absent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_json_object(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path`` (BOM tolerated); None when the file is missing, unreadable or not an object."""
    try:
        doc = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def nonblank(value: Any) -> str | None:
    """``value`` when it is a string with a non-space character, else None (blank ids and times are absent)."""
    return value if isinstance(value, str) and value.strip() else None
