"""Shortest round-trip number text for every bundle file (``artifacts.md`` §5.2) and series CSVs."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

CSV_HEADER = b"bin_index,value\n"

_CHUNK_ROWS = 1 << 16
_INT_LIMIT = 1e16  # below this, repr() of an integral double is its plain integer digits (+ ".0")
_POW10 = np.array([10**k for k in range(1, 17)], dtype=np.int64)
_COMMA = ord(",")
_NEWLINE = ord("\n")
_MINUS = ord("-")
_ZERO = ord("0")


def format_double(x: float) -> str:
    """Shortest text that reads back to the same double: ``8``, ``0.1``, ``1e+16``, ``9.9e-05``, ``NaN``.

    ``repr`` already yields the shortest round-trip digits with Python's positional/exponent switch
    (``1e-4 ≤ |x| < 1e16``); only the ``.0`` suffix goes, and ``-0.0`` becomes ``0`` (§5.2).

    Examples
    --------
    >>> [format_double(v) for v in (8.0, -3.75, 1e15, 1e16, 0.000099, -0.0, float("-inf"))]
    ['8', '-3.75', '1000000000000000', '1e+16', '9.9e-05', '0', '-Infinity']
    """
    value = float(x)
    if value != value:
        return "NaN"
    if value == math.inf:
        return "Infinity"
    if value == -math.inf:
        return "-Infinity"
    if value == 0.0:
        return "0"
    text = float.__repr__(value)
    return text[:-2] if text.endswith(".0") else text


def series_csv_chunks(values: npt.ArrayLike, *, missing: npt.ArrayLike | None = None) -> Iterator[bytes]:
    """The bytes of a series CSV (§5.1), header first, in bounded chunks so no file is built whole.

    ``missing`` marks bins written with an empty value cell (``2,``), as telemetry captures do for gaps.
    """
    series = np.ascontiguousarray(values, dtype=np.float64).reshape(-1)
    gaps = None if missing is None else np.ascontiguousarray(missing, dtype=bool).reshape(-1)
    if gaps is not None and gaps.shape != series.shape:
        raise ValueError(f"missing mask has {gaps.size} entries for a series of {series.size} bins")
    yield CSV_HEADER
    for start in range(0, series.size, _CHUNK_ROWS):
        stop = min(start + _CHUNK_ROWS, series.size)
        yield _encode_rows(start, series[start:stop], None if gaps is None else gaps[start:stop])


def encode_series_csv(values: npt.ArrayLike, *, missing: npt.ArrayLike | None = None) -> bytes:
    """The complete series CSV as bytes (small series, tests, HTTP bodies)."""
    return b"".join(series_csv_chunks(values, missing=missing))


def write_series_csv(stream: BinaryIO, values: npt.ArrayLike, *, missing: npt.ArrayLike | None = None) -> str:
    """Write a series CSV to ``stream`` and return its ``sha256:`` hash, computed in the same pass."""
    digest = hashlib.sha256()
    for chunk in series_csv_chunks(values, missing=missing):
        digest.update(chunk)
        stream.write(chunk)
    return "sha256:" + digest.hexdigest()


def _encode_rows(start: int, values: npt.NDArray[np.float64], missing: npt.NDArray[np.bool_] | None) -> bytes:
    """Rows ``i,value\\n`` for one chunk, assembled as a byte matrix whose NUL padding is dropped.

    Integral values (the common case: counts, queue depths) are formatted by vectorised digit extraction;
    only the others go through ``format_double``.
    """
    count = values.size
    index = _digit_matrix(np.arange(start, start + count, dtype=np.int64))
    integral = np.isfinite(values) & (np.abs(values) < _INT_LIMIT) & (values == np.trunc(values))
    if missing is not None:
        integral &= ~missing
    if integral.all():
        cells = _digit_matrix(values.astype(np.int64))
    else:
        cells = _mixed_cells(values, integral, missing)
    rows = np.concatenate(
        [
            index,
            np.full((count, 1), _COMMA, dtype=np.uint8),
            cells,
            np.full((count, 1), _NEWLINE, dtype=np.uint8),
        ],
        axis=1,
    )
    return rows[rows != 0].tobytes()


def _mixed_cells(
    values: npt.NDArray[np.float64],
    integral: npt.NDArray[np.bool_],
    missing: npt.NDArray[np.bool_] | None,
) -> npt.NDArray[np.uint8]:
    others = ~integral
    texts = [format_double(v) for v in values[others].tolist()]
    if missing is not None:
        texts = ["" if gap else text for gap, text in zip(missing[others].tolist(), texts, strict=True)]
    other_cells = _text_matrix(texts)
    int_cells = _digit_matrix(values[integral].astype(np.int64))
    width = max(other_cells.shape[1], int_cells.shape[1])
    cells = np.zeros((values.size, width), dtype=np.uint8)
    cells[others, : other_cells.shape[1]] = other_cells
    cells[integral, : int_cells.shape[1]] = int_cells
    return cells


def _text_matrix(texts: list[str]) -> npt.NDArray[np.uint8]:
    """ASCII texts as rows of a byte matrix, NUL-padded on the right (width ≥ 1)."""
    if not texts:
        return np.zeros((0, 1), dtype=np.uint8)
    fixed = np.array(texts, dtype=np.bytes_)
    width = max(fixed.dtype.itemsize, 1)
    return fixed.astype(f"S{width}").view(np.uint8).reshape(len(texts), width)


def _digit_matrix(numbers: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
    """Decimal digits (with ``-``) of each |number| < 1e16 as a right-aligned, NUL-padded byte matrix."""
    if numbers.size == 0:
        return np.zeros((0, 1), dtype=np.uint8)
    negative = numbers < 0
    magnitude = np.abs(numbers)
    digits = np.searchsorted(_POW10, magnitude, side="right") + 1
    signed = bool(negative.any())
    width = int(digits.max()) + signed
    out = np.empty((numbers.size, width), dtype=np.uint8)
    rest = magnitude.astype(np.uint32) if int(magnitude.max()) < 2**32 else magnitude
    for column in range(width - 1, signed - 1, -1):
        rest, digit = np.divmod(rest, 10)
        out[:, column] = digit
    out[:, signed:] += _ZERO
    lead = width - digits
    out[np.arange(width)[None, :] < lead[:, None]] = 0
    if signed:
        rows = np.flatnonzero(negative)
        out[rows, lead[rows] - 1] = _MINUS
    return out
