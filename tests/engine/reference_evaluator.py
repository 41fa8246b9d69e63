"""A deliberately plain evaluator written straight from ``model.md`` §6.4–§9: Python floats, bin by bin.

It shares no code with ``flowtime.engine``: the fast path must match it bit for bit. Where the spec leaves
a choice open it follows the engine's documented choice (MIN/MAX order -0 below +0; POW is the C
library ``pow``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import decimal
import math
from collections.abc import Callable, Mapping

import numpy as np

from flowtime.model.expressions import Array, BinOp, Call, Expr, Neg, Number, Ref
from flowtime.model.spec import (
    Column,
    ConstColumn,
    ExprColumn,
    InflowFromColumn,
    Model,
    OverflowColumn,
    PmfColumn,
    QueueColumn,
    RetryEchoColumn,
    WipLimitColumn,
)

_LIBM = ctypes.CDLL(ctypes.util.find_library("m"))
for _name in ("pow", "floor", "ceil"):
    getattr(_LIBM, _name).restype = ctypes.c_double
_LIBM.pow.argtypes = [ctypes.c_double, ctypes.c_double]
_LIBM.floor.argtypes = [ctypes.c_double]
_LIBM.ceil.argtypes = [ctypes.c_double]


# ----------------------------------------------------------------------------------------------- PCG32


class ReferencePcg32:
    """PCG32 exactly as the pseudo-code of §9, on Python integers."""

    MULT = 6364136223846793005
    INC = 1442695040888963407

    def __init__(self, seed: int) -> None:
        self.state = seed % 2**64
        self.next_uint32()

    def next_uint32(self) -> int:
        old = self.state
        self.state = (old * self.MULT + self.INC) % 2**64
        xs = (((old >> 18) ^ old) >> 27) % 2**32
        rot = old >> 59
        return ((xs >> rot) | (xs << ((32 - rot) % 32))) % 2**32

    def next_double(self) -> float:
        return self.next_uint32() / 2**32


# ------------------------------------------------------------------------------------------- functions


def _min(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b):
        return math.nan
    if a == b:
        return a if math.copysign(1.0, a) < 0 else b
    return a if a < b else b


def _max(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b):
        return math.nan
    if a == b:
        return b if math.copysign(1.0, a) < 0 else a
    return a if a > b else b


def _divide(a: float, b: float) -> float:
    return 0.0 if b == 0.0 else a / b


def _mod(a: float, b: float) -> float:
    if b == 0.0:
        return 0.0
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.nan
    r = math.fmod(a, b)
    if r != 0.0 and (r < 0) != (b < 0):
        return r + b
    return r


def _round(x: float) -> float:
    if not math.isfinite(x):
        return x
    exact = decimal.Context(prec=400, rounding=decimal.ROUND_HALF_UP)  # room for every double's digits
    rounded = decimal.Decimal(x).quantize(decimal.Decimal(1), context=exact)
    return math.copysign(float(rounded), x) if rounded == 0 else float(rounded)


def _sqrt(x: float) -> float:
    if math.isnan(x) or x < 0:
        return math.nan
    return math.sqrt(x)


_FUNCTIONS: Mapping[str, Callable[..., float]] = {
    "MIN": _min,
    "MAX": _max,
    "CLAMP": lambda v, lo, hi: _max(lo, _min(hi, v)),
    "MOD": _mod,
    "FLOOR": _LIBM.floor,
    "CEIL": _LIBM.ceil,
    "ROUND": _round,
    "ABS": abs,
    "SQRT": _sqrt,
    "POW": _LIBM.pow,
    "STEP": lambda x, th: 1.0 if x >= th else 0.0,
}


def _finite_or_zero(x: float) -> float:
    return x if math.isfinite(x) else 0.0


# ------------------------------------------------------------------------------------------ evaluation


class ReferenceEvaluator:
    """Evaluates ``model`` component by component; feedback groups bin-major (§8.3)."""

    def __init__(self, model: Model, seed: int | None = None) -> None:
        self.model = model
        self.bins = model.grid.bins
        self.values: dict[str, list[float]] = {c.id: [math.nan] * self.bins for c in model.columns}
        self.columns = {c.id: c for c in model.columns}
        self._sample_pmfs(seed)

    def _sample_pmfs(self, seed: int | None) -> None:
        rng_block = self.model.rng
        if seed is None:
            seed = rng_block.seed if rng_block is not None and rng_block.seed is not None else 123
        rng = ReferencePcg32(seed) if rng_block is not None else None
        for column in self.model.columns:
            if not isinstance(column, PmfColumn):
                continue
            pairs = list(zip(column.values, column.probabilities, strict=True))
            for t in range(self.bins):
                if rng is None:
                    expected = 0.0
                    for value, probability in pairs:
                        expected += value * probability
                    self.values[column.id][t] = expected
                    continue
                u = rng.next_double()
                cum = 0.0
                chosen = [v for v, p in pairs if p > 0][-1]
                for value, probability in pairs:
                    cum += probability
                    if probability > 0 and u < cum:
                        chosen = value
                        break
                self.values[column.id][t] = chosen

    def run(self) -> dict[str, np.ndarray]:
        for component in self.model.components:
            members = [self.columns[m] for m in component.members]
            if component.feedback:
                for t in range(self.bins):
                    for column in members:
                        self._compute(column, t)
            else:
                for column in members:
                    for t in range(self.bins):
                        self._compute(column, t)
        return {k: np.array(v, dtype=np.float64) for k, v in self.values.items()}

    def _compute(self, column: Column, t: int) -> None:
        out = self.values[column.id]
        if isinstance(column, ConstColumn):
            out[t] = float(column.values[t])
        elif isinstance(column, WipLimitColumn):
            out[t] = column.value
        elif isinstance(column, ExprColumn):
            out[t] = self._eval(column.ast, t)
        elif isinstance(column, InflowFromColumn):
            out[t] = self.values[column.base][t] + self.values[column.overflow][t]
        elif isinstance(column, RetryEchoColumn):
            out[t] = self._conv(lambda s: self.values[column.failures][s], column.kernel, t)
        elif isinstance(column, QueueColumn):
            self._queue(column, t)
        # PmfColumn: sampled up front; OverflowColumn: written by its queue.
        elif not isinstance(column, (PmfColumn, OverflowColumn)):
            raise TypeError(type(column).__name__)

    def _queue(self, column: QueueColumn, t: int) -> None:
        depth = self.values[column.id]
        previous = depth[t - 1] if t > 0 else column.initial
        inflow = _finite_or_zero(self.values[column.inflow][t])
        outflow = _finite_or_zero(self.values[column.outflow][t])
        loss = _finite_or_zero(self.values[column.loss][t]) if column.loss else 0.0
        c = ((previous + inflow) - outflow) - loss
        q = c if c > 0 else 0.0
        limit: float | None = None
        if column.limit_series is not None:
            raw = self.values[column.limit_series][t]
            limit = max(0.0, raw) if math.isfinite(raw) else None
        elif column.limit is not None:
            limit = column.limit
        overflow = 0.0
        if limit is not None and q > limit:
            overflow = q - limit
            q = limit
        depth[t] = q
        if column.overflow is not None:
            self.values[column.overflow][t] = overflow

    @staticmethod
    def _conv(sample: Callable[[int], float], kernel: tuple[float, ...], t: int) -> float:
        acc = 0.0
        for j in range(min(len(kernel), t + 1)):
            x = sample(t - j)
            if math.isfinite(x):
                acc += kernel[j] * x
        return acc

    def _history(self, node: Expr) -> float:
        if isinstance(node, Ref):
            return self.model.initial_conditions.get(node.name, 0.0)
        return 0.0

    def _eval(self, node: Expr, t: int) -> float:
        if isinstance(node, Number):
            return node.value
        if isinstance(node, Ref):
            return self.values[node.name][t]
        if isinstance(node, Neg):
            return 0.0 - self._eval(node.operand, t)
        if isinstance(node, BinOp):
            a, b = self._eval(node.left, t), self._eval(node.right, t)
            if node.op == "+":
                return a + b
            if node.op == "-":
                return a - b
            if node.op == "*":
                return a * b
            return _divide(a, b)
        assert isinstance(node, Call), node
        args = node.args
        if node.name == "SHIFT":
            lag = int(_literal(args[1]))
            return self._eval(args[0], t - lag) if t >= lag else self._history(args[0])
        if node.name == "CONV":
            kernel = args[1].values if isinstance(args[1], Array) else (_literal(args[1]),)
            return self._conv(lambda s: self._eval(args[0], s), kernel, t)
        if node.name == "PULSE":
            period = int(_literal(args[0]))
            phase = int(_literal(args[1])) if len(args) > 1 else 0
            if t >= phase and (t - phase) % period == 0:
                return self._eval(args[2], t) if len(args) > 2 else 1.0
            return 0.0
        return float(_FUNCTIONS[node.name](*(self._eval(arg, t) for arg in args)))


def _literal(node: Expr) -> float:
    if isinstance(node, Neg):
        return 0.0 - _literal(node.operand)
    assert isinstance(node, Number), node
    return node.value


def reference_evaluate(model: Model, seed: int | None = None) -> dict[str, np.ndarray]:
    """Every column of ``model`` by the plain per-bin definition."""
    return ReferenceEvaluator(model, seed).run()


def assert_same_bits(actual: np.ndarray, expected: np.ndarray, label: str = "") -> None:
    """Equal bit for bit, except that any NaN matches any NaN (payloads are not part of the contract)."""
    actual_nan, expected_nan = np.isnan(actual), np.isnan(expected)
    assert np.array_equal(actual_nan, expected_nan), f"{label}: NaN positions differ: {actual} vs {expected}"
    a_bits = actual[~actual_nan].view(np.uint64)
    e_bits = expected[~expected_nan].view(np.uint64)
    assert np.array_equal(a_bits, e_bits), f"{label}: {actual.tolist()} != {expected.tolist()}"
