"""Collects model problems with their dotted path and YAML line, and returns them in report order."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from flowtime.errors import Problem, Severity
from flowtime.model.parse import Loc, SourceMap, format_path

# model.md §11: root, grid, nodes in declaration order, outputs, topology, rng; cycle errors last.
_SECTIONS = {"grid": 1, "nodes": 2, "outputs": 3, "topology": 4, "rng": 5}
_TOPOLOGY_PARTS = {"nodes": 0, "edges": 1}
_LAST = 6
_HEAD = re.compile(r"([^.\[]*)(?:\[(\d+)\])?(?:\.([^.\[]*)(?:\[(\d+)\])?)?")


def _rank(path: str | None) -> tuple[int, int, int]:
    """Sort key of a problem path: section, then list index (topology: part, then index)."""
    if not path:
        return (0, -1, -1)
    match = _HEAD.match(path)
    assert match is not None  # every group is optional
    head, index, sub, sub_index = match.groups()
    section = _SECTIONS.get(head, 0)
    if section == 0:
        return (0, -1, -1)
    if section == 4:
        return (4, _TOPOLOGY_PARTS.get(sub or "", 2) if sub else -1, int(sub_index) if sub_index else -1)
    return (section, int(index) if index else -1, -1)


def _order(item: tuple[tuple[int, int, int], int, Problem]) -> tuple[object, ...]:
    rank, seq, problem = item
    position = problem.position if problem.position is not None else -1
    return (rank, problem.line or 0, position, seq)


class Reporter:
    """Problem sink shared by the validation passes; knows the document's lines and source texts."""

    def __init__(self, source: SourceMap) -> None:
        self.source = source
        self._found: list[tuple[tuple[int, int, int], int, Problem]] = []
        self.error_count = 0

    def error(
        self,
        code: str,
        message: str,
        loc: Loc | None,
        *,
        node_id: str | None = None,
        position: int | None = None,
        key: bool = False,
    ) -> None:
        self._report("error", code, message, loc, node_id, position, key)

    def warning(self, code: str, message: str, loc: Loc | None, *, node_id: str | None = None) -> None:
        self._report("warning", code, message, loc, node_id, None, True)

    def add(self, problem: Problem, loc: Loc | None = None, *, last: bool = False) -> None:
        """Record a problem made elsewhere (parser, expression checks, graph); fills in its line from
        ``loc`` when it has none. ``last`` sorts it after every sectioned problem (cycle errors)."""
        if problem.line is None and loc is not None:
            line = self.source.line_of(loc)
            if line is not None:
                problem = dataclasses.replace(problem, line=line)
        rank = (_LAST, 0, 0) if last else _rank(problem.path)
        self._found.append((rank, len(self._found), problem))
        self.error_count += problem.is_error

    def problems(self) -> list[Problem]:
        """Every problem in report order: by section and list index, then line, expression position, and
        the order reported."""
        return [p for _, _, p in sorted(self._found, key=_order)]

    def text(self, loc: Loc, value: Any) -> str | None:
        """``value`` as a *string* (``model.md`` §1): non-string scalars by their source text; None for
        null, mappings and lists."""
        if isinstance(value, str):
            return value
        if value is None or isinstance(value, dict | list):
            return None
        source_text = self.source.text_of(loc)
        if source_text is not None:
            return source_text
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def _report(
        self,
        severity: Severity,
        code: str,
        message: str,
        loc: Loc | None,
        node_id: str | None,
        position: int | None,
        key: bool,
    ) -> None:
        path = format_path(loc) if loc else None
        line = self.source.line_of(loc, key=key) if loc is not None else None
        problem = Problem(code, message, severity, path or None, node_id, position, None, line)
        self._found.append((_rank(path), len(self._found), problem))
        self.error_count += severity == "error"


__all__ = ["Reporter"]
