"""Expected output with placeholders for volatile values, compared against what a command really printed.

The placeholders are documented for readers in docs/README.md ("How these pages are tested"):

| in a doc          | matches                                                      |
|-------------------|--------------------------------------------------------------|
| ``<timestamp>``   | an instant such as ``2026-03-02T08:20:03.771045Z``            |
| ``<run-id>``      | a generated run id such as ``run_20260302T082003Z_9d3f2a61``  |
| ``<hash>``        | ``sha256:`` and 64 hex digits                                 |
| ``<hex>``         | one or more lowercase hex digits                             |
| ``<number>``      | a decimal number                                             |
| ``<any>``         | any text within one line                                     |
| ``<data-dir>``    | the absolute data directory of the page's session            |
| ``<work-dir>``    | the absolute working directory of the page's session         |
| ``127.0.0.1:8080`` | the free loopback port the page's background server uses    |
| a line ``...``    | any number of whole lines (also none)                        |

Two or more spaces in a row (table padding) match any run of spaces, so columns can stay aligned around a
placeholder.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping

PATTERNS: Mapping[str, str] = {
    "<timestamp>": r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,7})?Z",
    "<run-id>": r"run_(?:\d{8}T\d{6}Z_[0-9a-f]{8}|deterministic_[0-9a-f]{8})",
    "<hash>": r"sha256:[0-9a-f]{64}",
    "<hex>": r"[0-9a-f]+",
    "<number>": r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?",
    "<any>": r".*?",
}
ELLIPSIS = "..."
_INSTANT = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z"  # instants the service records (never grid times)


def _tokens(literals: Mapping[str, str]) -> re.Pattern[str]:
    names = sorted([*PATTERNS, *literals], key=len, reverse=True)
    return re.compile("|".join(re.escape(name) for name in names))


def normalise(text: str) -> str:
    """Trailing blanks of every line and trailing empty lines removed; CRLF as LF."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def _text_pattern(text: str) -> str:
    """Literal text; a run of two or more spaces (column padding) matches any run of spaces."""
    return "".join(" +" if re.fullmatch(r" {2,}", piece) else re.escape(piece) for piece in re.split(r"( {2,})", text))


def _line_pattern(line: str, literals: Mapping[str, str]) -> str:
    parts: list[str] = []
    last = 0
    for token in _tokens(literals).finditer(line):
        parts.append(_text_pattern(line[last : token.start()]))
        name = token.group(0)
        parts.append(re.escape(literals[name]) if name in literals else PATTERNS[name])
        last = token.end()
    parts.append(_text_pattern(line[last:]))
    return "".join(parts)


def pattern(expected: str, literals: Mapping[str, str]) -> re.Pattern[str]:
    """``expected`` as one regular expression over whole lines; ``literals`` fills ``<data-dir>`` etc."""
    pieces: list[str] = []
    for line in normalise(expected).split("\n"):
        if line.strip() == ELLIPSIS:
            pieces.append(r"(?:[^\n]*\n)*?")
        else:
            pieces.append(_line_pattern(line, literals) + r"\n")
    return re.compile("".join(pieces))


def matches(expected: str, actual: str, literals: Mapping[str, str]) -> bool:
    """True when ``actual`` is ``expected`` with every placeholder and ``...`` line filled in."""
    if not normalise(expected):
        return not normalise(actual)
    return pattern(expected, literals).fullmatch(normalise(actual) + "\n") is not None


def explain(expected: str, actual: str, literals: Mapping[str, str]) -> str:
    """A unified diff of the expected text against the actual one with known literals put back as names."""
    shown = normalise(actual)
    for name, value in sorted(literals.items(), key=lambda kv: -len(kv[1])):
        shown = shown.replace(value, name)
    diff = difflib.unified_diff(
        normalise(expected).split("\n"), shown.split("\n"), "expected (doc)", "actual", lineterm=""
    )
    return "\n".join(diff)


def templatise(actual: str, literals: Mapping[str, str]) -> str:
    """Actual output with session paths and instants replaced by placeholders, for ``--update``."""
    text = normalise(actual)
    for name, value in sorted(literals.items(), key=lambda kv: -len(kv[1])):
        text = text.replace(value, name)
    # In a table column the placeholder keeps the instant's width, so the columns stay aligned.
    text = re.sub(_INSTANT + "(?=  )", lambda m: "<timestamp>".ljust(len(m.group(0))), text)
    text = re.sub(_INSTANT, "<timestamp>", text)
    return re.sub(r"run_\d{8}T\d{6}Z_[0-9a-f]{8}", "<run-id>", text)
