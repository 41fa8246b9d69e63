"""YAML text of a generated model (``templates.md`` §7.3): block mappings, flow scalar lists, safe quoting."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from flowtime.artifacts import format_double
from flowtime.sim.yamltext import resolve_plain

_INDENT = "  "
_PLAIN_FORBIDDEN_FIRST = frozenset("-?:,[]{}#&*!|>'\"%@`")
_FLOW_INDICATORS = frozenset(",[]{}")
_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\0": "\\0",
    "\a": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    "\x1b": "\\e",
    "\x85": "\\N",
    "\u2028": "\\L",
    "\u2029": "\\P",
}


def dump(mapping: Mapping[str, Any]) -> str:
    """UTF-8-ready text: 2-space block mappings, ``- `` block sequences of mappings, scalar lists in flow
    style, ``None`` values omitted, LF line ends and a trailing newline."""
    lines: list[str] = []
    _mapping(mapping, 0, lines)
    return "\n".join(lines) + "\n"


def scalar(value: Any, *, flow: bool = False) -> str:
    """One scalar: numbers per the shared formatter, strings plain unless the core schema or YAML syntax
    would misread them (then double-quoted)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return format_double(value)
    text = str(value)
    return text if _plain_ok(text, flow) else quoted(text)


def _mapping(mapping: Mapping[str, Any], depth: int, lines: list[str], first_prefix: str | None = None) -> None:
    indent = _INDENT * depth
    first = True
    for key, value in mapping.items():
        if value is None:
            continue
        prefix = first_prefix if first and first_prefix is not None else indent
        first = False
        head = f"{prefix}{scalar(key)}:"
        if isinstance(value, Mapping):
            if not _has_content(value):
                lines.append(f"{head} {{}}")
            else:
                lines.append(head)
                _mapping(value, depth + 1, lines)
        elif isinstance(value, list | tuple):
            if _is_flow(value):
                lines.append(f"{head} {_flow(value)}")
            else:
                lines.append(head)
                _sequence(value, depth + 1, lines)
        else:
            lines.append(f"{head} {scalar(value)}")


def _sequence(items: list[Any] | tuple[Any, ...], depth: int, lines: list[str]) -> None:
    indent = _INDENT * depth
    for item in items:
        if isinstance(item, Mapping) and _has_content(item):
            _mapping(item, depth + 1, lines, first_prefix=f"{indent}- ")
        elif isinstance(item, Mapping):
            lines.append(f"{indent}- {{}}")
        elif isinstance(item, list | tuple) and not _is_flow(item):
            lines.append(f"{indent}-")
            _sequence(item, depth + 1, lines)
        elif isinstance(item, list | tuple):
            lines.append(f"{indent}- {_flow(item)}")
        else:
            lines.append(f"{indent}- {scalar(item)}")


def _flow(items: list[Any] | tuple[Any, ...]) -> str:
    parts = [_flow(i) if isinstance(i, list | tuple) else scalar(i, flow=True) for i in items]
    return "[" + ", ".join(parts) + "]"


def _is_flow(items: list[Any] | tuple[Any, ...]) -> bool:
    """Scalar lists (and lists of scalar lists) are written in flow style; lists holding a mapping are not."""
    return all(not isinstance(i, Mapping) and (not isinstance(i, list | tuple) or _is_flow(i)) for i in items)


def _has_content(mapping: Mapping[str, Any]) -> bool:
    return any(v is not None for v in mapping.values())


def _plain_ok(text: str, flow: bool) -> bool:
    if not text or text != text.strip() or not isinstance(resolve_plain(text), str):
        return False
    if text[0] in _PLAIN_FORBIDDEN_FIRST or ": " in text or " #" in text or text.endswith(":"):
        return False
    if flow and any(c in _FLOW_INDICATORS for c in text):
        return False
    return all(c.isprintable() and c != "\ufeff" for c in text)


def quoted(text: str) -> str:
    """``text`` as a YAML double-quoted scalar that reads back exactly: ``\\`` and ``"`` and every
    non-printable character escaped."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif not char.isprintable() or char == "\ufeff":
            code = ord(char)
            out.append(f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'
