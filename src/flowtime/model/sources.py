"""Series sources: the one sandboxed ``file:`` URI resolver and the series CSV reader (``telemetry.md`` §7–§8).

Used for ``const`` sources at model load, and by the state service, the bundle builder and telemetry capture.
Errors carry the spec codes; their messages name the URI or the file's base name, never a resolved path.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote

import numpy as np

from flowtime.errors import FlowTimeError, InvalidInput, NotFound, PathEscape, Unprocessable
from flowtime.model.spec import FloatArray


class SourceError(FlowTimeError):
    """A ``file:`` URI or a series CSV could not be used; ``code`` is the spec code shared by every caller."""


class UriUnsupported(SourceError, InvalidInput):
    """Not a ``file:`` URI, a ``file:`` URI naming another host, or blank."""

    code = "uri_unsupported"


class UriRequiresModelDir(SourceError, InvalidInput):
    """A relative or ``file://telemetry/`` URI, but no model directory to resolve it against."""

    code = "uri_requires_model_dir"


class UriOutsideSandbox(SourceError, PathEscape):
    """The URI resolves (lexically or through a symlink) outside the model directory and allowed roots."""

    code = "uri_outside_sandbox"


class SourceNotFound(SourceError, NotFound):
    """The resolved path is inside the sandbox but is not an existing regular file."""

    code = "source_not_found"


class TelemetryCsvInvalid(SourceError, Unprocessable):
    """A series CSV with a bad header, row, cell or duplicate index."""

    code = "telemetry_csv_invalid"


class TelemetryLengthMismatch(SourceError, Unprocessable):
    """A strictly read series CSV whose indices are not exactly ``0..bins-1``."""

    code = "telemetry_length_mismatch"


# ------------------------------------------------------------------------------------------------ URIs

UriKind = Literal["telemetry", "relative", "absolute"]


@dataclass(frozen=True, slots=True)
class FileUri:
    """A syntactically valid ``file:`` URI: ``path`` is percent-decoded; relative to the model directory
    (``relative``), to ``<modelDir>/telemetry`` (``telemetry``), or absolute."""

    uri: str
    kind: UriKind
    path: str


def is_file_uri(text: str) -> bool:
    """True when ``text`` uses the ``file:`` scheme (any case); says nothing about the rest of the URI."""
    return text.strip()[:5].lower() == "file:"


def parse_file_uri(uri: str) -> FileUri:
    """Check the form of a ``file:`` URI without touching the file system (``telemetry.md`` §7 table).

    Raises ``UriUnsupported`` for blank text, another scheme, bare text or a host other than ``localhost``
    and ``telemetry``.
    """
    text = uri.strip()
    if not text:
        raise UriUnsupported("URI must not be blank.")
    if not is_file_uri(text):
        raise UriUnsupported(_unsupported(uri))
    rest = text[5:]
    if rest.startswith("//"):
        host, _, tail = rest[2:].partition("/")
        host = unquote(host).lower()
        if host == "telemetry":
            return FileUri(uri, "telemetry", unquote(tail))
        if host in ("", "localhost"):
            return FileUri(uri, "absolute", "/" + unquote(tail))
        raise UriUnsupported(_unsupported(uri))
    if rest.startswith("/"):
        return FileUri(uri, "absolute", unquote(rest))
    return FileUri(uri, "relative", unquote(rest))


def resolve_uri(
    uri: str,
    model_dir: Path | None = None,
    allowed_roots: Sequence[Path] = (),
    *,
    must_exist: bool = True,
) -> Path:
    """Resolve a ``file:`` URI to an absolute path inside the sandbox (``telemetry.md`` §7).

    The sandbox bases are ``model_dir`` (when given) and ``allowed_roots``. With ``must_exist`` (the
    default) the path must also be an existing regular file. Raises ``UriUnsupported``,
    ``UriRequiresModelDir``, ``UriOutsideSandbox`` or ``SourceNotFound``; messages name ``uri`` only.
    """
    parsed = parse_file_uri(uri)
    if parsed.kind == "absolute":
        candidate = Path(parsed.path)
    elif model_dir is None:
        which = "Telemetry" if parsed.kind == "telemetry" else "Relative file"
        raise UriRequiresModelDir(f"{which} URIs require a model directory for resolution.")
    else:
        base = Path(os.path.abspath(model_dir))
        candidate = base / "telemetry" / parsed.path if parsed.kind == "telemetry" else base / parsed.path
    if "\x00" in str(candidate):
        raise SourceNotFound(f"'{uri}' was not found.")
    bases = ([model_dir] if model_dir is not None else []) + list(allowed_roots)
    if not is_inside(candidate, bases):
        raise UriOutsideSandbox(f"Path for '{uri}' escapes the allowed directories.")
    resolved = Path(os.path.normpath(os.path.abspath(candidate)))
    if must_exist and not _is_regular_file(resolved):
        raise SourceNotFound(f"'{uri}' was not found.")
    return resolved


def _is_regular_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # e.g. a directory on the way that we may not search
        return False


def is_inside(candidate: Path, bases: Sequence[Path]) -> bool:
    """The sandbox test: some base contains ``candidate`` both lexically (``..`` collapsed) and after
    resolving every symlink; components are compared whole (``/data/runs2`` is not in ``/data/runs``)."""
    lexical = os.path.normpath(os.path.abspath(candidate))
    real = os.path.realpath(lexical)
    for base in bases:
        base_lexical = os.path.normpath(os.path.abspath(base))
        if _contains(base_lexical, lexical) and _contains(os.path.realpath(base_lexical), real):
            return True
    return False


def _contains(base: str, path: str) -> bool:
    return path == base or path.startswith(base if base.endswith(os.sep) else base + os.sep)


def _unsupported(uri: str) -> str:
    return f"Unsupported URI scheme for '{uri}'. Only file: URIs are supported."


# ------------------------------------------------------------------------------------------------- CSV

CsvMode = Literal["strict", "lenient", "capture"]

_VALUE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INDEX = re.compile(r"\d+")
_SPECIAL = {
    "nan": math.nan,
    "infinity": math.inf,
    "+infinity": math.inf,
    "-infinity": -math.inf,
    "inf": math.inf,
    "+inf": math.inf,
    "-inf": -math.inf,
}
_HEADERS = (("bin_index", "value"), ("t", "value"))
MAX_CSV_BYTES = 256 * 1024 * 1024  # far above any series of max_bins rows; refuses a runaway file unread


@dataclass(frozen=True, slots=True)
class SeriesRead:
    """A series read from CSV onto ``bins`` slots.

    ``rows`` counts the data rows. ``absent`` lists the bins no row named (lenient: they hold 0; capture:
    NaN) and ``empty`` the bins whose value cell was empty (NaN). In capture mode both are *missing* slots.
    """

    values: FloatArray
    rows: int
    absent: tuple[int, ...] = ()
    empty: tuple[int, ...] = ()

    @property
    def missing(self) -> tuple[int, ...]:
        """Capture mode's missing slots: bins without a row or with an empty value, ascending."""
        return tuple(sorted((*self.absent, *self.empty)))


def read_series_csv(
    path: Path,
    bins: int,
    mode: CsvMode = "strict",
    *,
    name: str | None = None,
    decode: Callable[[bytes, int], FloatArray | None] | None = None,
) -> SeriesRead:
    """Read a ``bin_index,value`` (or ``t,value``) series file; see ``parse_series_csv`` for the modes.

    ``name`` (default: the file's base name) is what messages show. A missing or unreadable file raises
    ``SourceNotFound``. ``decode`` is a faster reader for files of exactly the rows ``0..bins-1`` (the same
    result in every mode): it returns the values, or None to leave the file to ``parse_series_csv``.
    """
    shown = name or path.name
    try:
        if not path.is_file():  # a directory, FIFO or device is not a series file (and a FIFO would block)
            raise SourceNotFound(f"'{shown}' was not found.")
        if path.stat().st_size > MAX_CSV_BYTES:
            raise _invalid(shown, 1, f"the file is larger than {MAX_CSV_BYTES} bytes")
        data = path.read_bytes()
    except OSError as exc:
        raise SourceNotFound(f"'{shown}' was not found.") from exc
    if decode is not None:
        values = decode(data, bins)
        if values is not None:
            return SeriesRead(values, bins)
    return parse_series_csv(data, bins, mode, name=shown)


def parse_series_csv(text: str | bytes, bins: int, mode: CsvMode = "strict", *, name: str) -> SeriesRead:
    """Parse series CSV text onto ``bins`` slots (``telemetry.md`` §8).

    strict: the indices must be exactly ``0..bins-1`` (else ``TelemetryLengthMismatch``); lenient: an index
    ``>= bins`` is ``TelemetryCsvInvalid`` and unlisted bins read 0; capture: rows with index ``>= bins``
    are dropped and unlisted bins are missing. A bad header, row or cell, or a duplicate index, is
    ``TelemetryCsvInvalid`` in every mode.
    """
    canonical = _parse_canonical(text, bins)
    if canonical is not None:
        return canonical
    return _parse_rows(text, bins, mode, name)


def _parse_rows(text: str | bytes, bins: int, mode: CsvMode, name: str) -> SeriesRead:
    """``parse_series_csv`` row by row: any text, every rule, the first problem reported with its line."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            line = bytes(text[: exc.start]).count(b"\n") + 1
            raise _invalid(name, line, "not valid UTF-8") from exc
    if text.startswith("\ufeff"):
        text = text[1:]
    values = np.full(bins, math.nan if mode == "capture" else 0.0)
    seen = np.zeros(bins, dtype=bool)
    empty: list[int] = []
    rows = 0
    header_seen = False
    beyond = -1  # largest index >= bins (strict mode reports it after counting every row)
    indexes: set[int] = set()
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        if not header_seen:
            header = tuple(field.strip().casefold() for field in line.split(","))
            if header not in _HEADERS:
                raise _invalid(name, number, "header must be 'bin_index,value' or 't,value'")
            header_seen = True
            continue
        fields = line.split(",")
        if len(fields) != 2:
            raise _invalid(name, number, f"expected 2 fields, found {len(fields)}")
        index_text, value_text = fields[0].strip(), fields[1].strip()
        if not _INDEX.fullmatch(index_text):
            raise _invalid(name, number, f"invalid bin index '{index_text}'")
        index = int(index_text)
        value = _parse_value(value_text)
        if value is _BAD:
            raise _invalid(name, number, f"invalid value '{value_text}'")
        if index in indexes:
            raise _invalid(name, number, f"duplicate bin index {index}")
        indexes.add(index)
        rows += 1
        if index >= bins:
            if mode == "lenient":
                raise _invalid(name, number, f"index {index} is outside 0..{bins - 1}")
            beyond = max(beyond, index)
            continue
        seen[index] = True
        if value is None:
            empty.append(index)
            values[index] = math.nan
        else:
            values[index] = value
    if not header_seen:
        raise _invalid(name, 1, "header must be 'bin_index,value' or 't,value'")
    if mode == "strict" and (beyond >= 0 or rows != bins):
        raise TelemetryLengthMismatch(f"Telemetry CSV '{name}' contained {rows} points but expected {bins}.")
    absent = tuple(int(i) for i in np.flatnonzero(~seen))
    return SeriesRead(values, rows, absent, tuple(sorted(empty)))


# The files FlowTime writes itself (bundle series, captures without gaps) have one shape: the exact header,
# then the rows 0..n-1 in order, each an index and a plain decimal. Such a file is read by numpy in one pass
# (its decimal conversion is correctly rounded, like float()), about 15x faster than row by row. Anything
# else (another header, spaces, CRLF, a gap, NaN or Infinity, another order or count) takes the row-by-row
# path, which gives the same values for these files and reports every problem of the others.
_CANONICAL = re.compile(rb"(?:bin_index|t),value\n(?:[0-9]+,-?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\n)+")
_BOM = "\ufeff".encode()


def _parse_canonical(text: str | bytes, bins: int) -> SeriesRead | None:
    """The series of a canonical file of exactly ``bins`` rows (same result in every mode), else None."""
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    if data.count(b"\n") != bins + 1 or not _CANONICAL.fullmatch(data):
        return None
    body = data[data.index(b"\n") + 1 : -1].replace(b"\n", b",")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            flat = np.fromstring(body, sep=",")  # type: ignore[call-overload]
        except ValueError:
            return None
    if flat.size != 2 * bins:
        return None
    pairs = flat.reshape(bins, 2)
    if not np.array_equal(pairs[:, 0], np.arange(bins, dtype=np.float64)):
        return None
    return SeriesRead(np.ascontiguousarray(pairs[:, 1]), bins)


class _Bad:
    """Marks a value cell that is neither empty, a special word, nor a decimal number."""


_BAD = _Bad()


def _parse_value(text: str) -> float | _Bad | None:
    if not text:
        return None
    if _VALUE.fullmatch(text):
        return float(text)
    return _SPECIAL.get(text.lower(), _BAD)


def _invalid(name: str, line: int, reason: str) -> TelemetryCsvInvalid:
    return TelemetryCsvInvalid(f"Invalid CSV '{name}' at line {line}: {reason}.")


__all__ = [
    "CsvMode",
    "FileUri",
    "SeriesRead",
    "SourceError",
    "SourceNotFound",
    "TelemetryCsvInvalid",
    "TelemetryLengthMismatch",
    "UriOutsideSandbox",
    "UriRequiresModelDir",
    "UriUnsupported",
    "is_file_uri",
    "is_inside",
    "parse_file_uri",
    "parse_series_csv",
    "read_series_csv",
]
