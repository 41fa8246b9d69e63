"""The program kernel: one compiled interpreter that runs a model's column programs (``model.md`` §8.3).

A program is data: rows of ``code`` (int64) and ``params`` (float64), one row per operation, and
``segments`` naming op ranges and how to run them. Every operand reads the flat workspace ``W`` (column
rows, temporaries, scratch rows, then CONV kernels) at ``W[off + t]`` when ``t >= lag``, else its history
value: a lagged row (``SHIFT``) has its offset moved back by the lag, and a constant is a history value with
a lag no bin reaches. This keeps the interpreter free of operand-kind branches.

``WHOLE`` segments run op by op over a block of bins (non-feedback columns); ``BIN_MAJOR`` segments run
bin by bin over all their ops (a feedback group, plus the scratch ops that feed its lagged sub-expressions
at the end of each bin). The whole model runs in blocks of bins so rows stay in cache; blocking never
changes a value because every read targets an earlier column or an earlier bin.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from flowtime.engine.functions import (
    clamp_scalar,
    divide_scalar,
    max_scalar,
    min_scalar,
    mod_scalar,
    pow_scalar,
    round_scalar,
    step_scalar,
)
from flowtime.engine.jit import ENGINE, jit
from flowtime.engine.queues import limit_at, queue_step

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# Op codes. Unary ops read A; binary ops A and B; CLAMP A, B, C.
COPY, NEG, FLOOR, CEIL, ROUND, ABS, SQRT = range(7)
ADD, SUB, MUL, DIV, MIN, MAX, MOD, POW, STEP = range(7, 16)
CLAMP = 16
PULSE = 17  # A = amplitude, X0 = period, X1 = phase
CONV = 18  # X0 = source row offset, X1 = kernel offset in W, X2 = kernel length
QUEUE = 19  # A in, B out, C loss, D limit (X0 = 1 when limited), X1 = overflow row offset or -1

# Fields of a ``code`` row: op, destination row offset, four operands (offset, lag), extras.
OP, DST = 0, 1
A_OFF, A_LAG = 2, 3
B_OFF, B_LAG = 4, 5
C_OFF, C_LAG = 6, 7
D_OFF, D_LAG = 8, 9
X0, X1, X2 = 10, 11, 12
MAX_LAG = 13  # largest lag of a row operand: bins below it take the per-bin path in WHOLE segments
CODE_FIELDS = 14

# The lag of a constant operand: its "history value" is the constant, read at every bin.
CONSTANT = 1 << 62

# Fields of a ``params`` row: the history value of each operand, and the queue's initial depth.
A_HIST, B_HIST, C_HIST, D_HIST, INITIAL = 0, 1, 2, 3, 4
PARAM_FIELDS = 5

# Segment modes.
WHOLE, BIN_MAJOR = 0, 1


@jit
def _operand_view(
    w: FloatArray, off: int, lag: int, value: float, start: int, stop: int, spare: FloatArray
) -> FloatArray:
    """Bins ``start .. stop-1`` of an operand as a contiguous view; a constant is spread into ``spare``."""
    if lag == CONSTANT:
        spare[: stop - start] = value
        return spare[: stop - start]
    return w[off + start : off + stop]


@jit
def _elementwise(
    code: IntArray, params: FloatArray, w: FloatArray, i: int, start: int, stop: int, spare: FloatArray
) -> None:
    """COPY, NEG and the binary ops up to MAX for bins ``start .. stop-1`` (no history reads).

    Contiguous views let LLVM vectorize the loops; ``spare`` holds two block-long rows for constants.
    """
    op = code[i, OP]
    n = stop - start
    out = w[code[i, DST] + start : code[i, DST] + stop]
    a = _operand_view(w, code[i, A_OFF], code[i, A_LAG], params[i, A_HIST], start, stop, spare[0])
    if op == COPY:
        for j in range(n):
            out[j] = a[j]
        return
    if op == NEG:
        for j in range(n):
            out[j] = 0.0 - a[j]
        return
    b = _operand_view(w, code[i, B_OFF], code[i, B_LAG], params[i, B_HIST], start, stop, spare[1])
    if op == ADD:
        for j in range(n):
            out[j] = a[j] + b[j]
    elif op == SUB:
        for j in range(n):
            out[j] = a[j] - b[j]
    elif op == MUL:
        for j in range(n):
            out[j] = a[j] * b[j]
    elif op == DIV:
        for j in range(n):
            out[j] = divide_scalar(a[j], b[j])
    elif op == MIN:
        for j in range(n):
            out[j] = min_scalar(a[j], b[j])
    else:
        for j in range(n):
            out[j] = max_scalar(a[j], b[j])


# Indices cast to unsigned skip numba's negative-index wraparound arithmetic (they are never negative: a
# lagged offset is only read once ``t >= lag``).
_u = np.uint64


@jit
def _bin_major(code: IntArray, params: FloatArray, w: FloatArray, first: int, last: int, start: int, stop: int) -> None:
    """Ops ``first .. last-1`` for each bin ``start .. stop-1`` in turn.

    The per-bin body is inline on purpose: numba adds atomic reference counting to every call that passes
    an array, which would cost more than the op itself.
    """
    for t in range(start, stop):
        for n in range(first, last):
            i = _u(n)
            op = code[i, OP]
            dst = code[i, DST] + t
            a = w[_u(code[i, A_OFF] + t)] if t >= code[i, A_LAG] else params[i, A_HIST]
            if op <= SQRT:
                if op == COPY:
                    r = a
                elif op == NEG:
                    r = 0.0 - a
                elif op == FLOOR:
                    r = np.floor(a)
                elif op == CEIL:
                    r = np.ceil(a)
                elif op == ROUND:
                    r = round_scalar(a)
                elif op == ABS:
                    r = abs(a)
                else:
                    r = np.sqrt(a)
                w[_u(dst)] = r
                continue
            b = w[_u(code[i, B_OFF] + t)] if t >= code[i, B_LAG] else params[i, B_HIST]
            if op <= STEP:
                if op == ADD:
                    r = a + b
                elif op == SUB:
                    r = a - b
                elif op == MUL:
                    r = a * b
                elif op == DIV:
                    r = divide_scalar(a, b)
                elif op == MIN:
                    r = min_scalar(a, b)
                elif op == MAX:
                    r = max_scalar(a, b)
                elif op == MOD:
                    r = mod_scalar(a, b)
                elif op == POW:
                    r = pow_scalar(a, b)
                else:
                    r = step_scalar(a, b)
                w[_u(dst)] = r
                continue
            c = w[_u(code[i, C_OFF] + t)] if t >= code[i, C_LAG] else params[i, C_HIST]
            if op == CLAMP:
                w[_u(dst)] = clamp_scalar(a, b, c)
            elif op == PULSE:
                phase = code[i, X1]
                w[_u(dst)] = a if t >= phase and (t - phase) % code[i, X0] == 0 else 0.0
            elif op == CONV:
                source = code[i, X0]
                kernel = code[i, X1]
                acc = 0.0
                for j in range(min(code[i, X2], t + 1)):
                    x = w[_u(source + t - j)]
                    if math.isfinite(x):
                        acc += w[_u(kernel + j)] * x
                w[_u(dst)] = acc
            else:  # QUEUE: a = inflow, b = outflow, c = loss, d = limit
                q = queue_step(w[_u(dst - 1)] if t > 0 else params[i, INITIAL], a, b, c)
                if code[i, X0] != 0:
                    d = w[_u(code[i, D_OFF] + t)] if t >= code[i, D_LAG] else params[i, D_HIST]
                    cap = limit_at(d)
                    overflow = 0.0
                    if q > cap:
                        overflow = q - cap
                        q = cap
                    if code[i, X1] >= 0:
                        w[_u(code[i, X1] + t)] = overflow
                w[_u(dst)] = q


@ENGINE.export("i8[:,:]", "f8[:,:]", "i8[:,:]", "f8[:]", "i8", "f8[:,:]")
def run_program(
    code: IntArray, params: FloatArray, segments: IntArray, w: FloatArray, bins: int, spare: FloatArray
) -> None:
    """Evaluate every segment in order, one block of bins at a time; ``spare`` is two rows of the block
    length, for spreading constant operands."""
    block = spare.shape[1]
    for t0 in range(0, bins, block):
        t1 = min(bins, t0 + block)
        for s in range(segments.shape[0]):
            first = segments[s, 1]
            last = segments[s, 2]
            if segments[s, 0] == BIN_MAJOR:
                _bin_major(code, params, w, first, last, t0, t1)
                continue
            for i in range(first, last):
                op = code[i, OP]
                if op <= NEG or ADD <= op <= MAX:
                    # A tight loop for the bins that read no history value.
                    split = min(t1, max(t0, code[i, MAX_LAG]))
                    _bin_major(code, params, w, i, i + 1, t0, split)
                    _elementwise(code, params, w, i, split, t1, spare)
                else:
                    _bin_major(code, params, w, i, i + 1, t0, t1)
