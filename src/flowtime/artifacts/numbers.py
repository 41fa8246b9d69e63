"""Shortest round-trip number text for every bundle file (``artifacts.md`` §5.2) and series CSVs."""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterator, Sequence
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from flowtime.engine.jit import NativeLibrary, inline, jit

CSV_HEADER = b"bin_index,value\n"

# The series CSV encoder is compiled; see flowtime.engine.jit for how it is built and loaded.
CSV = NativeLibrary("flowtime-csv", ("flowtime.artifacts.numbers",))

_CHUNK_ROWS = 1 << 16
SHORT_SERIES_BINS = _CHUNK_ROWS  # series this short are written many at a time by ``write_series_csvs``
_ROW_BYTES = 48  # the longest row: a 19-digit index, comma, a 24-character value ("-1.2345678901234567e+308"), LF
_EXACT_POW10 = np.array([10.0**k for k in range(23)])  # 10^k is an exact double up to k = 22
_POW2_BIAS = 80
_POW2 = np.array([2.0**k for k in range(-_POW2_BIAS, _POW2_BIAS)])  # the spacings of doubles in [1e-4, 1e15)
_MANTISSA = (1 << 52) - 1
_NO_GAPS = np.zeros(0, dtype=np.uint8)
_EMPTY_TEXTS = np.zeros(0, dtype=np.uint8)
_EMPTY_ENDS = np.zeros(0, dtype=np.int64)


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
    encoder = _Encoder(values, missing)
    yield CSV_HEADER
    for chunk in encoder.chunks():
        yield bytes(chunk)


def encode_series_csv(values: npt.ArrayLike, *, missing: npt.ArrayLike | None = None) -> bytes:
    """The complete series CSV as bytes (small series, tests, HTTP bodies)."""
    return b"".join(series_csv_chunks(values, missing=missing))


def write_series_csv(stream: BinaryIO, values: npt.ArrayLike, *, missing: npt.ArrayLike | None = None) -> str:
    """Write a series CSV to ``stream`` and return its ``sha256:`` hash, computed in the same pass."""
    digest = hashlib.sha256(CSV_HEADER)
    stream.write(CSV_HEADER)
    for chunk in _Encoder(values, missing).chunks():
        digest.update(chunk)
        stream.write(chunk)
    return "sha256:" + digest.hexdigest()


def write_series_csvs(paths: Sequence[str | os.PathLike[str]], block: npt.ArrayLike, *, fsync: bool) -> list[str]:
    """Write row ``r`` of ``block`` (``SHORT_SERIES_BINS`` bins at most) as the series CSV ``paths[r]``;
    returns their ``sha256:`` hashes. Same bytes as ``write_series_csv``.

    One compiled pass encodes every row, without the GIL, so a run of thousands of short series spends its
    time in the encoder and the file system rather than in per-series calls.
    """
    values = np.ascontiguousarray(block, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] != len(paths) or values.shape[1] > SHORT_SERIES_BINS:
        raise ValueError(f"expected {len(paths)} series of at most {SHORT_SERIES_BINS} bins, got {values.shape}")
    out = np.empty(_ROW_BYTES * values.size, dtype=np.uint8)
    row_ends = np.zeros(values.shape[0], dtype=np.int64)
    result = np.zeros(2, dtype=np.int64)
    _encode_block(values, out, _EMPTY_TEXTS, _EMPTY_ENDS, row_ends, result)
    if result[1]:
        texts, ends = _fallback_texts(values.reshape(-1), _NO_GAPS)
        _encode_block(values, out, texts, ends, row_ends, result)
    hashes: list[str] = []
    start = 0
    encoded = memoryview(out)
    for path, end in zip(paths, row_ends.tolist(), strict=True):
        body = encoded[start:end]
        start = end
        digest = hashlib.sha256(CSV_HEADER)
        digest.update(body)
        hashes.append("sha256:" + digest.hexdigest())
        with open(path, "wb") as stream:
            stream.write(CSV_HEADER)
            stream.write(body)
            if fsync:
                stream.flush()
                os.fsync(stream.fileno())
    return hashes


class _Encoder:
    """Rows ``i,value\\n`` of one series, chunk by chunk, through one reused buffer.

    The compiled encoder writes every cell it can decide exactly (almost all of them); the rare others
    (exponent forms, values next to a rounding tie, powers of two that need more than 15 digits) come back
    as a count, are formatted by ``format_double`` and the chunk is encoded again with their texts.
    """

    def __init__(self, values: npt.ArrayLike, missing: npt.ArrayLike | None) -> None:
        self.values = np.ascontiguousarray(values, dtype=np.float64).reshape(-1)
        self.missing = _NO_GAPS
        if missing is not None:
            gaps = np.ascontiguousarray(missing, dtype=bool).reshape(-1)
            if gaps.shape != self.values.shape:
                raise ValueError(f"missing mask has {gaps.size} entries for a series of {self.values.size} bins")
            self.missing = gaps.view(np.uint8)
        self.buffer = np.empty(_ROW_BYTES * min(_CHUNK_ROWS, self.values.size), dtype=np.uint8)
        self.result = np.zeros(2, dtype=np.int64)

    def chunks(self) -> Iterator[memoryview]:
        """Each chunk's bytes as a view of the buffer, valid until the next chunk is produced."""
        for start in range(0, self.values.size, _CHUNK_ROWS):
            stop = min(start + _CHUNK_ROWS, self.values.size)
            values = self.values[start:stop]
            missing = self.missing[start:stop] if self.missing.size else _NO_GAPS
            _encode(values, missing, start, self.buffer, _EMPTY_TEXTS, _EMPTY_ENDS, self.result)
            if self.result[1]:
                texts, ends = _fallback_texts(values, missing)
                _encode(values, missing, start, self.buffer, texts, ends, self.result)
            yield memoryview(self.buffer)[: int(self.result[0])]


def _fallback_texts(
    values: npt.NDArray[np.float64], missing: npt.NDArray[np.uint8]
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """``format_double`` of every value the compiled encoder leaves open, concatenated, with end offsets."""
    flags = np.zeros(values.size, dtype=np.uint8)
    _open_cells(values, missing, flags)
    texts = [format_double(v).encode("ascii") for v in values[flags.view(bool)].tolist()]
    ends = np.cumsum([len(t) for t in texts], dtype=np.int64)
    return np.frombuffer(b"".join(texts), dtype=np.uint8), ends


# ---------------------------------------------------------------------------------------- compiled encoder

_COMMA, _NEWLINE, _POINT, _MINUS, _ZERO = (ord(c) for c in ",\n.-0")


@inline
def _two_product(a: float, b: float) -> tuple[float, float]:
    """``a·b = hi + lo`` exactly (Dekker/Veltkamp splitting; no fused multiply-add needed)."""
    hi = a * b
    a_big = 134217729.0 * a  # 2^27 + 1
    a_hi = a_big - (a_big - a)
    a_lo = a - a_hi
    b_big = 134217729.0 * b
    b_hi = b_big - (b_big - b)
    b_lo = b - b_hi
    lo = ((a_hi * b_hi - hi) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    return hi, lo


@inline
def _shortest(x: float, bits: np.uint64) -> tuple[int, int]:
    """Shortest round-trip digits of a non-integral ``x`` with ``1e-4 ≤ x < 1e15``: ``(D, s)`` meaning
    ``D·10^-s``, or ``(-1, 0)`` when this cannot be decided exactly (``repr`` decides those). Never a guess:

    - 15 digits: ``D = rint(x·10^s)`` with ``10^14 ≤ x·10^s < 10^15``; one correctly rounded division
      ``D / 10^s == x`` (``D < 2^53``, ``10^s`` exact) proves ``D`` reads back, and by the DBL_DIG theorem a
      decimal of at most 15 digits that reads back to ``x`` is its unique shortest form (trailing zeros go).
    - 16 digits: the nearest integer to ``x·10^(s+1) = hi + lo`` (exact two-product) lies inside the rounding
      interval of ``x`` (half the spacing of doubles, scaled alike) or no 16-digit decimal does.
    - 17 digits: the nearest 17-digit decimal always reads back.

    Values within a relative 1e-6 of a rounding tie or 1e-9 of an interval bound, and powers of two (whose
    interval is asymmetric) that need more than 15 digits, are left undecided. ``bits`` are the IEEE bits of
    ``x`` (a normal double here: its spacing is ``2^(exponent - 52)``).
    """
    # floor(log10 x) from the binary exponent (log10 2 ≈ 78913 / 2^18), off by at most one: corrected below
    exponent = int((bits >> 52) & 0x7FF) - 1023
    s = min(20, max(0, 14 - ((exponent * 78913) >> 18)))
    scaled = x * _EXACT_POW10[s]
    if scaled >= 1e15 and s > 0:
        s -= 1
    elif scaled < 1e14 and s < 20:
        s += 1
    scaled = x * _EXACT_POW10[s]
    digits = np.rint(scaled)
    if scaled >= 1e14 and scaled < 1e15 and digits / _EXACT_POW10[s] == x:
        return int(digits), s
    if bits & _MANTISSA == 0:
        return -1, 0
    hi, lo = _two_product(x, _EXACT_POW10[s + 1])
    floor_hi = np.floor(hi)
    frac = (hi - floor_hi) + lo
    frac_floor = np.floor(frac)
    up = 1.0 if frac - frac_floor > 0.5 else 0.0
    nearest16 = int(floor_hi) + int(frac_floor) + int(up)
    distance = abs((frac_floor + up - (hi - floor_hi)) - lo)
    half_gap = _POW2[exponent - 52 + _POW2_BIAS] * 0.5 * _EXACT_POW10[s + 1]
    if (
        abs(frac - frac_floor - 0.5) <= 1e-6
        or abs(distance - half_gap) <= 1e-9 * half_gap
        or nearest16 < 10**15
        or nearest16 >= 10**16
    ):
        return -1, 0
    if distance < half_gap:
        return nearest16, s + 1
    hi, lo = _two_product(x, _EXACT_POW10[s + 2])
    lo_floor = np.floor(lo)
    if abs(lo - lo_floor - 0.5) <= 1e-6 or hi < 1e16 or hi >= 1e17:
        return -1, 0
    return int(hi) + int(lo_floor) + (1 if lo - lo_floor > 0.5 else 0), s + 2


_u = np.uint64  # unsigned indices and digit arithmetic: no negative-index or floor-division fix-ups
_TEN = np.uint64(10)
_HUNDRED = np.uint64(100)
_POW10_INT = np.array([10**k for k in range(20)], dtype=np.uint64)
_PAIRS = np.frombuffer("".join(f"{k:02d}" for k in range(100)).encode(), dtype=np.uint8)


@inline
def _put_fixed(out: npt.NDArray[np.uint8], end: int, number: np.uint64, width: int) -> None:
    """The last ``width`` decimal digits of ``number`` (zero-padded) at ``out[end - width:end]``, two at a time."""
    p = end
    while width >= 2:
        rest = number // _HUNDRED
        pair = (number - rest * _HUNDRED) * _u(2)
        p -= 2
        out[_u(p)] = _PAIRS[pair]
        out[_u(p + 1)] = _PAIRS[pair + _u(1)]
        number = rest
        width -= 2
    if width:
        out[_u(p - 1)] = _u(_ZERO) + number % _TEN


@inline
def _put_digits(out: npt.NDArray[np.uint8], pos: int, number: np.uint64) -> int:
    """The decimal digits of ``number`` at ``out[pos:]``; returns the position after them."""
    width = 1
    while width < 20 and number >= _POW10_INT[width]:
        width += 1
    _put_fixed(out, pos + width, number, width)
    return pos + width


@inline
def _put_positional(out: npt.NDArray[np.uint8], pos: int, digits: np.uint64, places: int) -> int:
    """``digits·10^-places`` as ``123.45`` or ``0.00012345``, trailing zeros dropped (``places > 0``;
    ``10^14 ≤ digits < 10^17``, as ``_shortest`` returns them)."""
    count = 15 + (digits >= _POW10_INT[15]) + (digits >= _POW10_INT[16])
    for step in (8, 4, 2, 1):  # strip up to 15 trailing zeros in four tests
        if places >= step and digits % _POW10_INT[step] == _u(0):
            digits //= _POW10_INT[step]
            places -= step
            count -= step
    if count > places:
        point = pos + count - places
        whole = digits // _POW10_INT[places]
        _put_fixed(out, point, whole, count - places)
        out[_u(point)] = _POINT
        _put_fixed(out, point + 1 + places, digits - whole * _POW10_INT[places], places)
        return point + 1 + places
    out[_u(pos)] = _ZERO
    out[_u(pos + 1)] = _POINT
    _put_fixed(out, pos + 2 + places, digits, places)  # zero-padded: the leading zeros of the fraction
    return pos + 2 + places


_WORDS = np.frombuffer(b"NaN-Infinity", dtype=np.uint8)


@inline
def _put_word(out: npt.NDArray[np.uint8], pos: int, start: int, stop: int) -> int:
    """``NaN`` (0, 3), ``-Infinity`` (3, 12) or ``Infinity`` (4, 12): a slice of ``_WORDS``."""
    for j in range(start, stop):
        out[pos] = _WORDS[j]
        pos += 1
    return pos


@jit
def _open_cell(x: float, bits: np.uint64) -> bool:
    """Whether the compiled encoder leaves the cell of ``x`` to ``format_double``."""
    a = abs(x)
    if x != x or a == np.inf or a == 0.0 or (a < 1e16 and a == np.floor(a)):
        return False
    return not (a >= 1e-4 and a < 1e15) or _shortest(a, bits)[0] < 0


@CSV.export("f8[:]", "u1[:]", "u1[:]")
def _open_cells(values: npt.NDArray[np.float64], missing: npt.NDArray[np.uint8], flags: npt.NDArray[np.uint8]) -> None:
    """``flags[i] = 1`` where the encoder needs the text of ``values[i]`` from ``format_double``."""
    bits = values.view(np.uint64)
    for i in range(values.shape[0]):
        flags[i] = 0 if missing.shape[0] and missing[i] else _open_cell(values[i], bits[i])


@inline
def _encode_rows_of(
    values: npt.NDArray[np.float64],
    missing: npt.NDArray[np.uint8],
    first: int,
    out: npt.NDArray[np.uint8],
    pos: int,
    texts: npt.NDArray[np.uint8],
    ends: npt.NDArray[np.int64],
    opened: int,
) -> tuple[int, int]:
    """Rows ``first+i,value\\n`` of one series into ``out`` from ``pos``; returns the new ``(pos, opened)``.

    Open cells take the next text of ``texts`` (ends at ``ends``) while there are any; when there are not,
    the output is incomplete and the caller learns from ``opened`` how many texts to supply.
    """
    bits = values.view(np.uint64)
    for i in range(values.shape[0]):
        pos = _put_digits(out, pos, _u(first + i))
        out[pos] = _COMMA
        pos += 1
        if missing.shape[0] and missing[i]:
            out[pos] = _NEWLINE
            pos += 1
            continue
        end = _put_decided(out, pos, values[i], bits[i])
        if end >= 0:
            pos = end
        else:  # an open cell: the text from format_double carries its own sign
            if opened < ends.shape[0]:
                begin = ends[opened - 1] if opened else 0
                for j in range(begin, ends[opened]):
                    out[pos] = texts[j]
                    pos += 1
            opened += 1
        out[pos] = _NEWLINE
        pos += 1
    return pos, opened


@inline
def _put_decided(out: npt.NDArray[np.uint8], pos: int, x: float, bits: np.uint64) -> int:
    """The §5.2 text of ``x`` at ``out[pos:]``; returns the position after it, or -1 when the compiled
    code cannot decide the digits (an open cell: ``format_double`` must write it)."""
    a = abs(x)
    if x != x:
        return _put_word(out, pos, 0, 3)
    if a == np.inf:
        return _put_word(out, pos, 4 if x > 0 else 3, 12)
    if a == 0.0:
        out[pos] = _ZERO
        return pos + 1
    if x < 0:
        out[pos] = _MINUS
        pos += 1
    if a < 1e16 and a == np.floor(a):
        return _put_digits(out, pos, _u(a))
    digits, places = _shortest(a, bits) if a >= 1e-4 and a < 1e15 else (-1, 0)
    if digits < 0:
        return -1
    return _put_positional(out, pos, _u(digits), places)


@CSV.export("f8[:]", "u1[:]", "i8", "u1[:]", "u1[:]", "i8[:]", "i8[:]")
def _encode(
    values: npt.NDArray[np.float64],
    missing: npt.NDArray[np.uint8],
    first: int,
    out: npt.NDArray[np.uint8],
    texts: npt.NDArray[np.uint8],
    ends: npt.NDArray[np.int64],
    result: npt.NDArray[np.int64],
) -> None:
    """Rows ``first+i,value\\n`` into ``out``; ``result = [bytes written, open cells]``."""
    pos, opened = _encode_rows_of(values, missing, first, out, 0, texts, ends, 0)
    result[0] = pos
    result[1] = opened


@CSV.export("f8[:,:]", "u1[:]", "u1[:]", "i8[:]", "i8[:]", "i8[:]")
def _encode_block(
    values: npt.NDArray[np.float64],
    out: npt.NDArray[np.uint8],
    texts: npt.NDArray[np.uint8],
    ends: npt.NDArray[np.int64],
    row_ends: npt.NDArray[np.int64],
    result: npt.NDArray[np.int64],
) -> None:
    """Each row of ``values`` as the rows of its own series CSV (bins from 0), one after another in ``out``;
    ``row_ends[r]`` is where series ``r`` ends, ``result = [bytes written, open cells]``."""
    pos = 0
    opened = 0
    for r in range(values.shape[0]):
        pos, opened = _encode_rows_of(values[r], _NO_GAPS, 0, out, pos, texts, ends, opened)
        row_ends[r] = pos
    result[0] = pos
    result[1] = opened


# ---------------------------------------------------------------------------------------- compiled decoder

_TWO_POW_53 = 1 << 53
_NINE, _PLUS, _LOWER_E, _UPPER_E = ord("9"), ord("+"), ord("e"), ord("E")


@inline
def _equal_at(a: npt.NDArray[np.uint8], a_start: int, b: npt.NDArray[np.uint8], b_start: int, length: int) -> bool:
    """Whether ``a[a_start:a_start + length]`` and ``b[b_start:b_start + length]`` hold the same bytes."""
    for j in range(length):  # noqa: SIM110 - numba compiles loops, not generator expressions
        if a[a_start + j] != b[b_start + j]:
            return False
    return True


@inline
def _word_at(data: npt.NDArray[np.uint8], start: int, end: int, first: int, last: int) -> bool:
    """Whether ``data[start:end]`` is ``_WORDS[first:last]`` (``NaN``, ``Infinity``, ``-Infinity``)."""
    return end - start == last - first and _equal_at(data, start, _WORDS, first, end - start)


@inline
def _read_value(
    data: npt.NDArray[np.uint8], start: int, end: int, scratch: npt.NDArray[np.uint8], one: npt.NDArray[np.float64]
) -> tuple[bool, float]:
    """``(True, float(text))`` for the value text ``data[start:end]`` when that can be proven here, else
    ``(False, 0.0)``: the text is a word of §5.2, or ``-?D+(.D+)?([eE][+-]?D+)?`` whose value is either
    exact by Clinger's fast path (at most 2^53 as an integer, scaled by an exact power of ten: one correctly
    rounded operation) or a double whose §5.2 text is exactly this text (so float() reads it back)."""
    if _word_at(data, start, end, 0, 3):
        return True, np.nan
    if _word_at(data, start, end, 4, 12):
        return True, np.inf
    if _word_at(data, start, end, 3, 12):
        return True, -np.inf
    p = start
    negative = p < end and data[p] == _MINUS
    if negative:
        p += 1
    mantissa = 0
    significant = 0
    fraction = 0
    digits = 0
    while p < end and data[p] >= _ZERO and data[p] <= _NINE:
        if mantissa or data[p] != _ZERO:
            mantissa = mantissa * 10 + (data[p] - _ZERO)
            significant += 1
        digits += 1
        p += 1
    if digits == 0:
        return False, 0.0
    if p < end and data[p] == _POINT:
        p += 1
        before = p
        while p < end and data[p] >= _ZERO and data[p] <= _NINE:
            if mantissa or data[p] != _ZERO:
                mantissa = mantissa * 10 + (data[p] - _ZERO)
                significant += 1
            fraction += 1
            p += 1
        if p == before:
            return False, 0.0
    exponent = 0
    if p < end and (data[p] == _LOWER_E or data[p] == _UPPER_E):
        p += 1
        minus = p < end and data[p] == _MINUS
        if p < end and (data[p] == _MINUS or data[p] == _PLUS):
            p += 1
        before = p
        while p < end and data[p] >= _ZERO and data[p] <= _NINE and p - before < 4:
            exponent = exponent * 10 + (data[p] - _ZERO)
            p += 1
        if p == before:
            return False, 0.0
        if minus:
            exponent = -exponent
    if p != end or significant > 18:  # 18 digits always fit the 64-bit accumulator
        return False, 0.0
    scale = exponent - fraction
    if mantissa == 0:
        return True, -0.0 if negative else 0.0
    if mantissa <= _TWO_POW_53 and scale >= -22 and scale <= 22:  # exact operands, one rounding
        x = float(mantissa) * _EXACT_POW10[scale] if scale >= 0 else float(mantissa) / _EXACT_POW10[-scale]
        return True, -x if negative else x
    if scale < -340 or scale > 330:
        return False, 0.0
    x = float(mantissa)  # within a few ulps; the candidate and its neighbours are checked below
    while scale > 22:
        x *= 1e22
        scale -= 22
    while scale < -22:
        x /= 1e22
        scale += 22
    x = x * _EXACT_POW10[scale] if scale >= 0 else x / _EXACT_POW10[-scale]
    if negative:
        x = -x
    if x == 0.0 or abs(x) == np.inf:
        return False, 0.0
    one[0] = x
    bits = one.view(np.uint64)[0]
    for step in range(3):  # the candidate, then its neighbours one unit in the last place either side
        candidate_bits = bits if step == 0 else (bits + _u(1) if step == 1 else bits - _u(1))
        one.view(np.uint64)[0] = candidate_bits
        stop = _put_decided(scratch, 0, one[0], candidate_bits)
        if stop == end - start and _equal_at(scratch, 0, data, start, stop):
            return True, one[0]
    return False, 0.0


@CSV.export("u1[:]", "f8[:]", "u1[:]", "f8[:]", "i8[:]")
def _decode(
    data: npt.NDArray[np.uint8],
    values: npt.NDArray[np.float64],
    scratch: npt.NDArray[np.uint8],
    one: npt.NDArray[np.float64],
    result: npt.NDArray[np.int64],
) -> None:
    """The rows after the header, ``i,value\\n`` for ``i = 0 .. len(values) - 1`` in order (indices without
    leading zeros), into ``values``; ``result[0] = 1`` when every row has that form and every value is
    proven by ``_read_value``, else 0 (the caller's general reader then decides)."""
    result[0] = 0
    n = data.shape[0]
    p = 0
    for i in range(values.shape[0]):
        start = p
        index = 0
        while p < n and data[p] >= _ZERO and data[p] <= _NINE and p - start < 19:
            index = index * 10 + (data[p] - _ZERO)
            p += 1
        if p == start or index != i or (data[start] == _ZERO and p - start > 1):
            return
        if p >= n or data[p] != _COMMA:
            return
        p += 1
        value_start = p
        while p < n and data[p] != _NEWLINE:
            p += 1
        if p >= n:
            return
        ok, x = _read_value(data, value_start, p, scratch, one)
        if not ok:
            return
        values[i] = x
        p += 1
    if p == n:
        result[0] = 1


def decode_series_csv(data: bytes, bins: int) -> npt.NDArray[np.float64] | None:
    """The values of a series CSV whose rows are exactly ``0..bins-1`` in order (as FlowTime writes them),
    each read as ``float()`` reads it, from one compiled pass; None for any other text, which the general
    reader (``flowtime.model.read_series_csv``) then parses and reports on."""
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    for header in (CSV_HEADER, b"t,value\n"):
        if data.startswith(header, start):
            break
    else:
        return None
    body = np.frombuffer(data, dtype=np.uint8, offset=start + len(header)).copy()  # writable, for numba
    values = np.empty(bins, dtype=np.float64)
    result = np.zeros(1, dtype=np.int64)
    _decode(body, values, np.empty(_ROW_BYTES, dtype=np.uint8), np.empty(1, dtype=np.float64), result)
    return values if result[0] else None
