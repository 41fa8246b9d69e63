"""FlowTimeError -> process exit code, per command family (``api.md`` §11)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

from flowtime.errors import Conflict, FlowTimeError, InvalidInput, NotFound, Unprocessable

OK = 0
FAILURE = 1
USAGE = 2
CONFLICT = 3
NOT_FOUND = 4
UNPROCESSABLE = 5
INTERRUPTED = 130


class Convention(Enum):
    """Client commands map API statuses; engine commands and local tools keep the reference's codes."""

    CLIENT = "client"
    ENGINE = "engine"
    LOCAL = "local"


_CLIENT: Mapping[type[FlowTimeError], int] = {
    InvalidInput: USAGE,
    NotFound: NOT_FOUND,
    Conflict: CONFLICT,
    Unprocessable: UNPROCESSABLE,
}
_ENGINE: Mapping[type[FlowTimeError], int] = {InvalidInput: USAGE}
_LOCAL: Mapping[type[FlowTimeError], int] = {InvalidInput: USAGE, Conflict: CONFLICT}
_TABLES = {Convention.CLIENT: _CLIENT, Convention.ENGINE: _ENGINE, Convention.LOCAL: _LOCAL}


def exit_code(exc: FlowTimeError, convention: Convention) -> int:
    """The most specific family along the exception's MRO decides; anything unlisted is a failure (1)."""
    table = _TABLES[convention]
    for cls in type(exc).__mro__:
        if cls in table:
            return table[cls]
    return FAILURE
