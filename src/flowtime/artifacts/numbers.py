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
_POW10 = np.array([10**k for k in range(1, 19)], dtype=np.int64)
_EXACT_POW10 = np.array([10.0**k for k in range(23)])  # 10^k is an exact double up to k = 22
_MANTISSA = np.uint64((1 << 52) - 1)
_SPLITTER = 134217729.0  # 2^27 + 1
_POINT = ord(".")
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
    """Cells of a chunk that holds more than integers: decimals go through the vectorised shortest-digit
    path, whatever it cannot decide (and NaN, ±∞, exponent forms) through ``format_double``; missing
    cells stay empty (all NUL)."""
    rest = ~integral if missing is None else ~integral & ~missing
    candidates = np.flatnonzero(rest & np.isfinite(values))
    fast_cells, fast = _decimal_cells(values[candidates])
    slow = np.union1d(candidates[~fast], np.flatnonzero(rest & ~np.isfinite(values)))
    parts = [
        (np.flatnonzero(integral), _digit_matrix(values[integral].astype(np.int64))),
        (candidates[fast], fast_cells),
        (slow, _text_matrix([format_double(v) for v in values[slow].tolist()])),
    ]
    cells = np.zeros((values.size, max(part.shape[1] for _, part in parts)), dtype=np.uint8)
    for rows, part in parts:
        cells[rows, : part.shape[1]] = part
    return cells


def _decimal_cells(values: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
    """Shortest round-trip text of finite non-integral values with ``1e-4 ≤ |x| < 1e15``, vectorised.

    Returns the cells of the rows it decided (in row order) and the mask of those rows; the others are
    left to ``repr``. Exact throughout, never a guess:

    - 15 digits: ``D = rint(|x|·10^s)`` with ``e = floor(log10|x|)``, ``s = 14 - e``; one correctly
      rounded division ``D / 10^s == |x|`` (``D < 2^53``, ``10^s`` exact) proves ``D`` reads back, and by
      the DBL_DIG theorem a ≤15-digit decimal that reads back to ``x`` is its unique shortest form.
    - 16 digits: the nearest integer to ``|x|·10^(s+1) = hi + lo`` (Dekker's exact two-product) is inside
      the rounding interval of ``x`` (half the spacing of doubles, scaled alike) or no 16-digit decimal is.
    - 17 digits: the nearest 17-digit decimal always reads back.

    Rows near a rounding tie or an interval bound, and powers of two (asymmetric interval), are left
    undecided.
    """
    magnitude = np.abs(values)
    done = np.zeros(values.size, dtype=bool)
    rows = np.flatnonzero((magnitude >= 1e-4) & (magnitude < 1e15))
    x = magnitude[rows]
    scale = np.clip(14 - np.floor(np.log10(x)).astype(np.int64), 0, 20)
    scaled = x * _EXACT_POW10[scale]
    scale = np.clip(scale - (scaled >= 1e15) + (scaled < 1e14), 0, 20)
    scaled = x * _EXACT_POW10[scale]
    digits = np.rint(scaled)
    ok15 = (scaled >= 1e14) & (scaled < 1e15) & (digits / _EXACT_POW10[scale] == x)

    pending = ~ok15 & ((x.view(np.uint64) & _MANTISSA) != 0)
    hi, lo = _two_product(x, _EXACT_POW10[scale + 1])
    floor_hi = np.floor(hi)
    frac = (hi - floor_hi) + lo
    frac_floor = np.floor(frac)
    up = frac - frac_floor > 0.5
    nearest16 = floor_hi.astype(np.int64) + frac_floor.astype(np.int64) + up
    # |nearest16 - x·10^s| against half the spacing of doubles around x, scaled the same way (exact)
    distance = np.abs((frac_floor + up - (hi - floor_hi)) - lo)
    half_gap = np.spacing(x) * 0.5 * _EXACT_POW10[scale + 1]
    sure16 = (
        (np.abs(frac - frac_floor - 0.5) > 1e-6)
        & (np.abs(distance - half_gap) > 1e-9 * half_gap)
        & (nearest16 >= 10**15)
        & (nearest16 < 10**16)
    )
    ok16 = pending & sure16 & (distance < half_gap)

    pending &= sure16 & ~ok16
    hi, lo = _two_product(x, _EXACT_POW10[scale + 2])
    lo_floor = np.floor(lo)
    ok17 = pending & (np.abs(lo - lo_floor - 0.5) > 1e-6) & (hi >= 1e16) & (hi < 1e17)
    nearest17 = hi.astype(np.int64) + lo_floor.astype(np.int64) + (lo - lo_floor > 0.5)

    integers = np.where(ok17, nearest17, np.where(ok16, nearest16, digits.astype(np.int64)))
    decimals = scale + ok16 + 2 * ok17
    decided = ok15 | ok16 | ok17
    decided &= (integers >= 10**14) & (integers < 10**17)
    done[rows[decided]] = True
    cells = _positional_cells(integers[decided], decimals[decided], values[rows[decided]] < 0)
    return cells, done


def _two_product(
    a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """``a·b = hi + lo`` exactly (Dekker/Veltkamp; no fused multiply-add needed)."""
    hi = a * b
    a_big = _SPLITTER * a
    a_hi = a_big - (a_big - a)
    a_lo = a - a_hi
    b_big = _SPLITTER * b
    b_hi = b_big - (b_big - b)
    b_lo = b - b_hi
    lo = ((a_hi * b_hi - hi) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    return hi, lo


def _positional_cells(
    digits: npt.NDArray[np.int64], decimals: npt.NDArray[np.int64], negative: npt.NDArray[np.bool_]
) -> npt.NDArray[np.uint8]:
    """Text of ``±digits · 10^-decimals`` (``decimals > 0`` once trailing zeros are dropped) as ``123.45``
    or ``0.00012345``, the positional form ``repr`` uses for these magnitudes.

    Rows are grouped by (digit count, decimals): within a group every row has the same layout, so the
    text is a few column-block copies of the digit matrix.
    """
    if digits.size == 0:
        return np.zeros((0, 1), dtype=np.uint8)
    digits = digits.copy()
    decimals = decimals.copy()
    while True:
        trailing = (digits % 10 == 0) & (decimals > 0)
        if not trailing.any():
            break
        digits[trailing] //= 10
        decimals[trailing] -= 1
    count = np.searchsorted(_POW10, digits, side="right") + 1
    right = _digit_matrix(digits)
    span = right.shape[1]
    length = np.maximum(count, decimals + 1) + 1  # digits (or the leading "0"), the point, leading zeros
    out = np.zeros((digits.size, 1 + int(length.max())), dtype=np.uint8)
    out[negative, 0] = _MINUS
    keys = (count * 64 + decimals).astype(np.int16)  # small keys: numpy's stable sort is a radix sort
    order = np.argsort(keys, kind="stable")
    sizes = np.bincount(keys)
    present = np.flatnonzero(sizes)
    bounds = np.cumsum(sizes[present])
    for key, rows in zip(present.tolist(), np.split(order, bounds[:-1]), strict=True):
        digit_count, places = divmod(key, 64)
        block = right[rows, span - digit_count :]
        if digit_count > places:
            whole = digit_count - places
            out[rows, 1 : 1 + whole] = block[:, :whole]
            out[rows, 1 + whole] = _POINT
            out[rows, 2 + whole : 2 + digit_count] = block[:, whole:]
        else:
            out[rows, 1] = _ZERO
            out[rows, 2] = _POINT
            out[rows, 3 : 3 + places - digit_count] = _ZERO
            out[rows, 3 + places - digit_count : 3 + places] = block
    return out


def _text_matrix(texts: list[str]) -> npt.NDArray[np.uint8]:
    """ASCII texts as rows of a byte matrix, NUL-padded on the right (width ≥ 1)."""
    if not texts:
        return np.zeros((0, 1), dtype=np.uint8)
    fixed = np.array(texts, dtype=np.bytes_)
    width = max(fixed.dtype.itemsize, 1)
    return fixed.astype(f"S{width}").view(np.uint8).reshape(len(texts), width)


def _digit_matrix(numbers: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
    """Decimal digits (with ``-``) of each |number| < 1e18 as a right-aligned, NUL-padded byte matrix.

    Built column-major (one contiguous row per character position) and returned transposed.
    """
    if numbers.size == 0:
        return np.zeros((0, 1), dtype=np.uint8)
    negative = numbers < 0
    magnitude = np.abs(numbers)
    digits = np.searchsorted(_POW10, magnitude, side="right") + 1
    signed = bool(negative.any())
    width = int(digits.max()) + signed
    out = np.empty((width, numbers.size), dtype=np.uint8)
    rest = magnitude.astype(np.uint32) if width - signed <= 9 else magnitude
    for position in range(width - 1, signed - 1, -1):
        rest, digit = np.divmod(rest, 10)
        out[position] = digit
    out[signed:] += _ZERO
    lead = width - digits
    out[np.arange(width)[:, None] < lead[None, :]] = 0
    if signed:
        columns = np.flatnonzero(negative)
        out[lead[columns] - 1, columns] = _MINUS
    return out.T
