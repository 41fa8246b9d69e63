"""``${name}`` placeholders: finding, parsing around, rendering and substituting them (templates.md §3)."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flowtime.artifacts import format_double
from flowtime.sim.emitter import quoted

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TOKEN_GROWTH = len("__ftp___") - len("${}")
_QUOTE_FIRST = frozenset("*&!|>'%@`")

Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Placeholder:
    """One ``${…}`` occurrence at character ``start``; ``name`` is None when it is malformed."""

    text: str
    start: int
    name: str | None


def scan(text: str, exclude: Span | None = None) -> list[Placeholder]:
    """Every ``${…}`` in ``text`` outside ``exclude``, in text order.

    A ``${`` whose closing ``}`` is not on the same line is malformed up to the end of that line.
    """
    found: list[Placeholder] = []
    pos = 0
    while (start := text.find("${", pos)) != -1:
        line_end = text.find("\n", start)
        line_end = len(text) if line_end == -1 else line_end
        close = text.find("}", start, line_end)
        end = line_end if close == -1 else close + 1
        pos = end
        if exclude is not None and exclude[0] <= start < exclude[1]:
            continue
        candidate = text[start:end]
        match = _PLACEHOLDER.fullmatch(candidate)
        found.append(Placeholder(candidate.rstrip(), start, match.group(1) if match else None))
    return found


class Tokenized:
    """Template text with each valid placeholder replaced by ``__ftp_<name>__`` (§3.2), and the way back."""

    def __init__(self, text: str) -> None:
        placeholders = [p for p in scan(text) if p.name is not None]
        pieces: list[str] = []
        self._token_ends: list[int] = []
        pos = length = 0
        for p in placeholders:
            token = f"__ftp_{p.name}__"
            pieces += [text[pos : p.start], token]
            length += p.start - pos + len(token)
            self._token_ends.append(length)
            pos = p.start + len(p.text)
        pieces.append(text[pos:])
        self.text = "".join(pieces)
        names = sorted({p.name for p in placeholders if p.name}, key=len, reverse=True)
        self._token = re.compile("__ftp_(" + "|".join(map(re.escape, names)) + ")__") if names else None

    def original_index(self, index: int) -> int:
        """Map a character index of the tokenized text back to the template text."""
        return index - _TOKEN_GROWTH * bisect.bisect_right(self._token_ends, index)

    def restore(self, value: Any) -> Any:
        """Turn tokens back into ``${name}`` in every string (keys included) of a parsed value."""
        if self._token is None:
            return value
        if isinstance(value, str):
            return self._token.sub(lambda m: "${" + m.group(1) + "}", value)
        if isinstance(value, list):
            return [self.restore(v) for v in value]
        if isinstance(value, dict):
            return {self.restore(k): self.restore(v) for k, v in value.items()}
        return value


def substitute(text: str, replacements: Mapping[str, str], exclude: Span | None = None) -> str:
    """Replace every placeholder outside ``exclude`` by its replacement text in one pass (never re-scanned).

    Placeholders without a replacement are left as they are; generation has rejected them before.
    """

    def replace(match: re.Match[str]) -> str:
        return replacements.get(match.group(1), match.group(0))

    if exclude is None:
        return _PLACEHOLDER.sub(replace, text)
    a, b = exclude
    return _PLACEHOLDER.sub(replace, text[:a]) + text[a:b] + _PLACEHOLDER.sub(replace, text[b:])


def render(value: Any) -> str:
    """Replacement text of a merged parameter value (§3.3).

    Beyond the reference, every character YAML would not keep as it is inside double quotes (line breaks,
    tabs, other non-printable characters) is escaped, so the value reads back unchanged.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_double(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(render(v) for v in value) + "]"
    return _render_string(str(value))


def _render_string(text: str) -> str:
    if text == "":
        return '""'
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text
    if text[0] in "[{":
        return text
    if any(c.isspace() or c in ":#" or not c.isprintable() for c in text) or text[0] in _QUOTE_FIRST:
        return quoted(text)
    return text


def names(placeholders: list[Placeholder]) -> Iterator[str]:
    """Distinct valid placeholder names in order of first appearance."""
    seen: set[str] = set()
    for p in placeholders:
        if p.name is not None and p.name not in seen:
            seen.add(p.name)
            yield p.name
