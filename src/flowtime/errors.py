"""FlowTime's one exception hierarchy and the Problem record every validator reports.

Tree (each family maps once to an HTTP status in ``api`` and an exit code in ``cli``)::

    FlowTimeError                 anything raised on purpose; a bare one is a bug (500 / exit 1)
    ├── InvalidInput              the caller sent something malformed (400)
    │   └── PathEscape            a user path or URI would leave the configured roots
    ├── NotFound                  the named run / template / capture / series does not exist (404)
    ├── Conflict                  the target already exists (409)
    ├── Unprocessable             well-formed input that cannot be used (422)
    │   └── ModelInvalid          a model failed validation; carries every Problem
    └── WriteFailed               a bundle could not be written (500); nothing was changed
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation finding: a stable machine code, a message saying what and where, and a location.

    ``path`` is dotted with list indices (``nodes[2].expr``); ``position`` is the 0-based character index
    inside an expression; ``nodes`` lists cycle members; ``line`` is the 1-based YAML line when known.
    """

    code: str
    message: str
    severity: Severity = "error"
    path: str | None = None
    node_id: str | None = None
    position: int | None = None
    nodes: tuple[str, ...] | None = None
    line: int | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def to_dict(self) -> dict[str, Any]:
        """Wire form (camelCase); optional members are omitted when they do not apply."""
        out: dict[str, Any] = {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "path": self.path,
            "nodeId": self.node_id,
        }
        if self.position is not None:
            out["position"] = self.position
        if self.nodes is not None:
            out["nodes"] = list(self.nodes)
        if self.line is not None:
            out["line"] = self.line
        return out

    def __str__(self) -> str:
        where = self.path or ""
        if self.line is not None:
            where = f"{where} (line {self.line})" if where else f"line {self.line}"
        return f"{self.severity} {self.code}: {self.message}" + (f" [{where}]" if where else "")


class FlowTimeError(Exception):
    """Base of every error FlowTime raises on purpose; anything else is a bug."""

    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, location: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or type(self).code
        self.location = location

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.message, "code": self.code}


class InvalidInput(FlowTimeError):
    """The caller sent something malformed: a bad id, option, parameter or file."""

    code = "invalid_input"


class PathEscape(InvalidInput):
    """A user-supplied path or URI would resolve outside every configured root."""

    code = "path_escape"


class NotFound(FlowTimeError):
    """The named run, template, capture or series does not exist."""

    code = "not_found"


class Conflict(FlowTimeError):
    """The target already exists and overwriting was not requested."""

    code = "conflict"


class Unprocessable(FlowTimeError):
    """Well-formed input that cannot be used as it is."""

    code = "unprocessable"


class ModelInvalid(Unprocessable):
    """A model failed validation; ``problems`` holds every error and warning found in one pass."""

    code = "model_invalid"

    def __init__(self, problems: Iterable[Problem], *, message: str | None = None) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        if message is None:
            texts = [p.message for p in self.problems if p.is_error]
            message = "; ".join(texts) if texts else "Model is invalid."
        super().__init__(message)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.is_error)

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": self.message,
            "code": self.code,
            "errors": [p.to_dict() for p in self.problems if p.is_error],
        }


class WriteFailed(FlowTimeError):
    """A run or bundle could not be written; the temporary directory was removed and nothing changed."""

    code = "write_failed"


__all__ = [
    "Conflict",
    "FlowTimeError",
    "InvalidInput",
    "ModelInvalid",
    "NotFound",
    "PathEscape",
    "Problem",
    "Severity",
    "Unprocessable",
    "WriteFailed",
]
