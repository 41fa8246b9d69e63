"""Per-bin semantics of the expression operators and functions (``model.md`` §7.2–§7.3).

Every rule that plain IEEE arithmetic does not already give is written once here as a compiled scalar
function; the program kernel calls these for whole-series and bin-major evaluation alike, so both agree bit
for bit. numpy's own ``minimum`` and ``power`` are deliberately not used: ``np.minimum`` returns its second
operand for ±0 pairs, and on AVX-512 machines ``np.power`` differs from the C library ``pow`` in the last bit.

Choices where the spec is silent: MIN/MAX order signed zeros as IEEE 754-2019 ``minimum``/``maximum`` do
(``-0 < +0``), and POW is the C library ``pow``.
"""

from __future__ import annotations

import math

import numpy as np

from flowtime.engine.jit import inline


@inline
def divide_scalar(a: float, b: float) -> float:
    """``a / b``, but +0 when ``b`` is ±0 whatever ``a`` is (NaN and ±Inf included)."""
    if b == 0.0:
        return 0.0
    return a / b


@inline
def min_scalar(a: float, b: float) -> float:
    """NaN if either is NaN, else the smaller; -0 counts as smaller than +0."""
    if a != a or b != b:
        return math.nan
    if a < b:
        return a
    if b < a:
        return b
    return a if math.copysign(1.0, a) < 0.0 else b


@inline
def max_scalar(a: float, b: float) -> float:
    """NaN if either is NaN, else the larger; +0 counts as larger than -0."""
    if a != a or b != b:
        return math.nan
    if a > b:
        return a
    if b > a:
        return b
    return b if math.copysign(1.0, a) < 0.0 else a


@inline
def clamp_scalar(v: float, lo: float, hi: float) -> float:
    """``MAX(lo, MIN(hi, v))``: ``lo`` wins when ``lo > hi``; NaN anywhere gives NaN."""
    return max_scalar(lo, min_scalar(hi, v))


@inline
def mod_scalar(a: float, b: float) -> float:
    """Remainder with the divisor's sign; 0 for a ±0 divisor, NaN for non-finite operands."""
    if b == 0.0:
        return 0.0
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.nan
    r = np.fmod(a, b)
    if r != 0.0 and (r < 0.0) != (b < 0.0):
        return r + b
    return r


@inline
def round_scalar(x: float) -> float:
    """Nearest integer, halves away from zero.

    ``x - trunc(x)`` is exact for every double, so comparing it with 0.5 decides the rounding without
    the ``floor(x + 0.5)`` error at 0.49999999999999994; NaN and ±Inf fall through unchanged.
    """
    r = np.trunc(x)
    if abs(x - r) >= 0.5:
        return r + math.copysign(1.0, x)
    return r


@inline
def pow_scalar(a: float, b: float) -> float:
    """C99 ``pow`` (``POW(x, 0) = 1``, ``POW(±0, b < 0) = ±Inf``, NaN for a negative base and fractional
    exponent); never raises."""
    return math.pow(a, b)


@inline
def step_scalar(x: float, threshold: float) -> float:
    """1 if ``x >= threshold`` else 0; a NaN comparison is false."""
    return 1.0 if x >= threshold else 0.0
