"""JSON text in the bundle layout (``artifacts.md`` §1): 2-space indent, raw non-ASCII, §5.2 doubles."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from json.encoder import encode_basestring
from typing import Any

import numpy as np

from flowtime.artifacts.numbers import format_double

_INDENT = "  "
_SURROGATE = re.compile("[\ud800-\udfff]")


def dumps_json(value: Any) -> str:
    """``value`` as a JSON document in the §1 layout, ending with one LF.

    Same text as ``json.dumps(value, indent=2, ensure_ascii=False)`` except that doubles use the shortest
    round-trip form of §5.2 (``8``, not ``8.0``) and NaN/±Infinity become ``null``. Mappings keep their
    insertion order; tuples are arrays; numpy scalars are numbers.

    >>> print(dumps_json({"bins": 4, "rate": 8.0, "tags": [], "bad": float("nan")}), end="")
    {
      "bins": 4,
      "rate": 8,
      "tags": [],
      "bad": null
    }
    """
    parts: list[str] = []
    _render(value, "", parts)
    parts.append("\n")
    return "".join(parts)


def json_bytes(value: Any) -> bytes:
    """``dumps_json`` encoded as UTF-8 (no BOM): the bytes every bundle JSON file holds."""
    return dumps_json(value).encode("utf-8")


def json_string(text: str) -> str:
    """A JSON string literal: only ``"``, ``\\`` and U+0000–U+001F escaped (lowercase ``\\u00xx``).

    Lone surrogates (which UTF-8 cannot carry) are escaped as ``\\udxxx`` so the file stays valid.
    """
    if text.isascii():  # the common case: no surrogate can be inside
        return encode_basestring(text)  # type: ignore[no-any-return]
    literal = json.dumps(text, ensure_ascii=False)
    if _SURROGATE.search(literal):
        literal = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", literal)
    return literal


def _render(value: Any, indent: str, out: list[str]) -> None:
    kind = value.__class__  # exact built-in types first: documents of thousands of series are mostly these
    if kind is str:
        out.append(encode_basestring(value) if value.isascii() else json_string(value))
    elif kind is dict:
        _render_mapping(value, indent, out)
    elif kind is int:
        out.append(int.__repr__(value))
    elif kind is list:
        _render_array(value, indent, out)
    else:
        _render_any(value, indent, out)


def _render_any(value: Any, indent: str, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif isinstance(value, (bool, np.bool_)):
        out.append("true" if value else "false")
    elif isinstance(value, str):
        out.append(json_string(value))
    elif isinstance(value, (int, np.integer)):
        out.append(str(int(value)))
    elif isinstance(value, (float, np.floating)):
        out.append(format_double(value) if math.isfinite(value) else "null")
    elif isinstance(value, Mapping):
        _render_mapping(value, indent, out)
    elif isinstance(value, (list, tuple, np.ndarray)):
        _render_array(value, indent, out)
    else:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _render_mapping(value: Mapping[Any, Any], indent: str, out: list[str]) -> None:
    if not value:
        out.append("{}")
        return
    inner = indent + _INDENT
    out.append("{")
    for position, (key, item) in enumerate(value.items()):
        if not isinstance(key, str):
            raise TypeError(f"JSON object keys must be strings, not {type(key).__name__}")
        out.append(",\n" if position else "\n")
        out.append(inner)
        out.append(json_string(key))
        out.append(": ")
        _render(item, inner, out)
    out.append("\n")
    out.append(indent)
    out.append("}")


def _render_array(value: Any, indent: str, out: list[str]) -> None:
    items = value.tolist() if isinstance(value, np.ndarray) else value
    if len(items) == 0:
        out.append("[]")
        return
    inner = indent + _INDENT
    out.append("[")
    for position, item in enumerate(items):
        out.append(",\n" if position else "\n")
        out.append(inner)
        _render(item, inner, out)
    out.append("\n")
    out.append(indent)
    out.append("]")
