"""``modelId`` and ``modelHash`` of a generation (``templates.md`` §5 step 6, §7.5)."""

from __future__ import annotations

import hashlib
from typing import Any

from flowtime.sim.yamltext import load_untyped

_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def model_id(substituted_text: str) -> str:
    """Lowercase hex SHA-256 of the substituted template text: same inputs, same id, at any time."""
    return hashlib.sha256(substituted_text.encode("utf-8")).hexdigest()


def model_hash(model_text: str) -> str:
    """``sha256:`` + SHA-256 of the canonical JSON of the untyped parse of ``model_text``.

    Insensitive to comments, quoting and layout; sensitive to every value. Raises ValueError for blank text
    and ``YamlSyntaxError`` for text that does not parse.
    """
    if not model_text.strip():
        raise ValueError("model text must not be empty")
    return "sha256:" + hashlib.sha256(canonical_json(load_untyped(model_text)).encode("utf-8")).hexdigest()


def canonical_json(value: Any) -> str:
    """Compact JSON, object keys sorted by code point, only the escapes §7.5 allows, non-ASCII raw.

    Examples
    --------
    >>> canonical_json({"b": ["1", None], "a": "x\\by"})
    '{"a":"x\\\\u0008y","b":["1",null]}'
    """
    if value is None:
        return "null"
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: kv[0])
        return "{" + ",".join(f"{_string(str(k))}:{canonical_json(v)}" for k, v in items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(canonical_json(v) for v in value) + "]"
    return _string(str(value))


def _string(text: str) -> str:
    out = []
    for char in text:
        if char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif ord(char) < 0x20:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'
