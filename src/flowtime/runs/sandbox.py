"""User-supplied ids and paths turned into paths inside a configured root, or a coded refusal."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path, PurePath

from flowtime.artifacts import validate_run_id
from flowtime.errors import InvalidInput, PathEscape
from flowtime.model import is_inside
from flowtime.runs.details import is_run_directory

_SERIES_ID = re.compile(r"[A-Za-z0-9._@-]{1,300}")


def validate_series_id(series_id: str) -> str:
    """A series id of ``api.md`` §1.4 (no ``/``, so it cannot name a path)."""
    if not _SERIES_ID.fullmatch(series_id):
        raise InvalidInput(f"seriesId '{series_id}' is invalid.", code="invalid_series_id", location="seriesId")
    return series_id


def contain(candidate: Path, roots: Sequence[Path], *, given: str) -> Path:
    """``candidate``, lexically normalised, when it lies inside a root both lexically and after symlinks.

    The lexical check stops ``..`` escapes; the real-path check stops a symlink inside a root that points
    out of every root (``telemetry.md`` §7). ``given`` is the caller's own text, the only thing a message
    may repeat (never a resolved path).
    """
    if not is_inside(candidate, roots):
        raise PathEscape(f"Path '{given}' is outside the allowed roots.", code="path_outside_roots", location=given)
    return Path(os.path.normpath(os.path.abspath(candidate)))


def run_directory(runs_root: Path, run_id: str) -> Path:
    """``<RunsRoot>/<runId>`` for a valid run id (the directory may not exist)."""
    validate_run_id(run_id)
    return contain(runs_root / run_id, [runs_root], given=run_id)


def check_capture_target(
    path: Path, *, runs_root: Path, telemetry_root: Path, roots: Sequence[Path], given: str
) -> None:
    """Refuse a capture target whose overwrite would delete what is not a capture.

    A bundle commit with overwrite deletes every regular file of its target (``telemetry.md`` §3.3), so the
    target may not be a configured root, a run directory or inside one, a name directly in RunsRoot (where
    runs live) or a hidden directory. Targets outside every root are left to the caller's sandbox check.
    """
    real = Path(os.path.realpath(os.path.abspath(path)))
    canonical = [Path(os.path.realpath(r)) for r in roots]
    inside = [r for r in canonical if real.is_relative_to(r)]
    if not inside:
        return
    runs, telemetry = Path(os.path.realpath(runs_root)), Path(os.path.realpath(telemetry_root))
    refused = (
        real in canonical
        or any(part.startswith(".") for part in real.relative_to(max(inside, key=lambda r: len(r.parts))).parts)
        or (real.is_relative_to(runs) and not real.is_relative_to(telemetry))
        or any(is_run_directory(p) for p in (real, *real.parents) if p.is_relative_to(runs) and p != runs)
    )
    if refused:
        raise InvalidInput(
            f"Output '{given}' would put a capture over a root, a run or a hidden directory; "
            "use a capture key or a directory of its own under the TelemetryRoot.",
            code="invalid_output",
            location=given,
        )


def relative_file(directory: Path, name: str, *, given: str) -> Path:
    """A plain relative file path inside ``directory``: not absolute, no ``.``/``..`` segment, no ``\\``."""
    parts = name.split("/")
    if not name.strip() or PurePath(name).is_absolute() or "\\" in name or any(p in ("", ".", "..") for p in parts):
        raise InvalidInput(f"'{given}' is not a plain relative file name.", code="invalid_binding", location=given)
    try:
        return contain(directory / name, [directory], given=given)
    except PathEscape:
        raise InvalidInput(
            f"'{given}' is not a plain relative file name.", code="invalid_binding", location=given
        ) from None


__all__ = ["check_capture_target", "contain", "relative_file", "run_directory", "validate_run_id", "validate_series_id"]
