"""The scalar coercions of ``model.md`` §1 (*number*, *integer*, id) and number text for messages."""

from __future__ import annotations

import math
import re
from typing import Any

_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_DIGITS = re.compile(r"[+-]?\d+")
NODE_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def as_number(value: Any) -> float | None:
    """A *number*: a YAML int or float, or a string that is a decimal or scientific number; never a bool.

    ``.nan``/``.inf`` arrive here as floats already; the words ``NaN``/``inf`` are strings and are rejected.
    """
    cls = value.__class__
    if cls is float:
        return value  # type: ignore[no-any-return]
    if cls is int:
        try:
            return float(value)
        except OverflowError:  # beyond the double range
            return math.inf if value > 0 else -math.inf
    if cls is str:
        text = value.strip()
        if _DECIMAL.fullmatch(text):
            return float(text)
    return None


def as_integer(value: Any) -> int | None:
    """An *integer*: a YAML int, a float with an integral value (``8.0``), or a string of sign and digits."""
    cls = value.__class__
    if cls is int:
        return value  # type: ignore[no-any-return]
    if cls is float:
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if cls is str and _DIGITS.fullmatch(value.strip()):
        return int(value.strip())
    return None


def is_node_id(text: str) -> bool:
    """Letters, digits and ``_``, not starting with a digit (the length limit is checked separately)."""
    return NODE_ID.fullmatch(text) is not None


def format_number(value: float) -> str:
    """Shortest text of a double for messages: ``5`` not ``5.0``, ``0.1``, ``NaN``, ``Infinity``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def snake(node_id: str) -> str:
    """``IntakeQueue`` -> ``intake_queue``, ``HTTPService`` -> ``http_service``, ``DLQ`` -> ``dlq``.

    Before each uppercase character after the first, ``_`` is inserted when the previous character is not
    uppercase or the next one is lowercase; then everything is lowercased (``model.md`` §6.4).
    """
    out: list[str] = []
    last = len(node_id) - 1
    for i, char in enumerate(node_id):
        if i > 0 and char.isupper() and (not node_id[i - 1].isupper() or (i < last and node_id[i + 1].islower())):
            out.append("_")
        out.append(char)
    return "".join(out).lower()


def shown_value(value: Any) -> str:
    """A YAML value as a message shows it: numbers by ``format_number``, containers by their type."""
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, dict | list):
        return "mapping" if isinstance(value, dict) else "list"
    return shorten(str(value))


def shorten(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters for a message (ids can be megabytes long in hostile input)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = ["NODE_ID", "as_integer", "as_number", "format_number", "is_node_id", "shorten", "shown_value", "snake"]
