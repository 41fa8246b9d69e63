"""Model -> kernel program: every computed column as ops over the flat workspace (see ``kernels``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import numpy as np

from flowtime.engine import kernels as k
from flowtime.model.expressions import (
    BinOp,
    Call,
    Expr,
    Neg,
    Number,
    Ref,
    conv_kernel,
    pulse_args,
    shift_lag,
)
from flowtime.model.memory import gc_paused
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

Region = Literal["column", "temp", "scratch", "taps"]

_BINARY = {"+": k.ADD, "-": k.SUB, "*": k.MUL, "/": k.DIV}
_CALLS = {
    "MIN": k.MIN,
    "MAX": k.MAX,
    "MOD": k.MOD,
    "POW": k.POW,
    "STEP": k.STEP,
    "FLOOR": k.FLOOR,
    "CEIL": k.CEIL,
    "ROUND": k.ROUND,
    "ABS": k.ABS,
    "SQRT": k.SQRT,
    "CLAMP": k.CLAMP,
}

# ``_assemble`` writes code and params rows as flat runs of fields in this order.
_CODE_ORDER = (k.OP, k.DST, k.A_OFF, k.A_LAG, k.B_OFF, k.B_LAG, k.C_OFF, k.C_LAG, k.D_OFF, k.D_LAG)
_PARAM_ORDER = (k.A_HIST, k.B_HIST, k.C_HIST, k.D_HIST, k.INITIAL)
assert (*_CODE_ORDER, k.X0, k.X1, k.X2, k.MAX_LAG) == tuple(range(k.CODE_FIELDS))
assert tuple(range(k.PARAM_FIELDS)) == _PARAM_ORDER

# Columns filled before the program runs: they read nothing.
FILLED = (ConstColumn, PmfColumn, WipLimitColumn)


class _Slot(NamedTuple):
    """A place in the workspace: row ``index`` of a region (value ``index`` of the CONV taps)."""

    region: Region
    index: int


class _Operand(NamedTuple):
    """A row read ``lag`` bins back (``history`` before that), or a constant (``slot`` None, ``history``)."""

    slot: _Slot | None
    lag: int = 0
    history: float = 0.0


@dataclass(slots=True)
class _Op:
    op: int
    dst: _Slot
    args: tuple[_Operand, ...] = ()
    extra: tuple[int, int, int] = (0, 0, 0)
    source: _Slot | None = None  # CONV input row
    taps: _Slot | None = None  # CONV kernel
    overflow: _Slot | None = None  # QUEUE overflow row
    initial: float = 0.0


@dataclass(frozen=True, slots=True)
class Program:
    """A compiled model: op tables for ``kernels.run_program`` plus the workspace layout.

    The workspace is ``rows`` column rows (evaluation order), then temporaries and scratch rows, then the
    CONV kernel ``taps`` (``size`` doubles in all).
    """

    code: k.IntArray
    params: k.FloatArray
    segments: k.IntArray
    taps: k.FloatArray
    rows: int
    size: int


@dataclass(slots=True)
class _Builder:
    slots: Mapping[str, _Slot]  # column id -> its row
    history: Mapping[str, float]
    ops: list[_Op] = field(default_factory=list)
    deferred: list[_Op] | None = None
    free_temps: list[int] = field(default_factory=list)
    temps: int = 0
    scratch: int = 0
    taps: list[float] = field(default_factory=list)

    # ------------------------------------------------------------------------------ workspace slots

    @staticmethod
    def constant(value: float) -> _Operand:
        return _Operand(None, history=float(value))

    def kernel(self, values: tuple[float, ...]) -> _Slot:
        start = len(self.taps)
        self.taps.extend(float(v) for v in values)
        return _Slot("taps", start)

    def column(self, column_id: str) -> _Slot:
        return self.slots[column_id]

    def temp(self) -> _Slot:
        if self.free_temps:
            return _Slot("temp", self.free_temps.pop())
        self.temps += 1
        return _Slot("temp", self.temps - 1)

    def release(self, *operands: _Operand) -> None:
        for operand in operands:
            slot = operand.slot
            if slot is not None and slot.region == "temp" and slot.index not in self.free_temps:
                self.free_temps.append(slot.index)

    def new_scratch(self) -> _Slot:
        self.scratch += 1
        return _Slot("scratch", self.scratch - 1)

    # ------------------------------------------------------------------------------------ columns

    def compile_column(self, column: Column) -> None:
        if isinstance(column, ExprColumn):
            dst = self.column(column.id)
            self.store(self.expr(column.ast, dst), dst, self.ops)
        elif isinstance(column, QueueColumn):
            self.compile_queue(column)
        elif isinstance(column, InflowFromColumn):
            base, overflow = self.column(column.base), self.column(column.overflow)
            self.ops.append(_Op(k.ADD, self.column(column.id), (_Operand(base), _Operand(overflow))))
        elif isinstance(column, RetryEchoColumn):
            self.emit_conv(self.column(column.id), self.column(column.failures), column.kernel)
        elif not isinstance(column, (OverflowColumn, *FILLED)):
            raise TypeError(f"unknown column type {type(column).__name__}")

    def compile_queue(self, column: QueueColumn) -> None:
        loss = _Operand(self.column(column.loss)) if column.loss else self.constant(0.0)
        limited = 0
        limit = self.constant(0.0)
        if column.limit_series is not None:
            limited, limit = 1, _Operand(self.column(column.limit_series))
        elif column.limit is not None:
            limited, limit = 1, self.constant(column.limit)
        inflow, outflow = _Operand(self.column(column.inflow)), _Operand(self.column(column.outflow))
        self.ops.append(
            _Op(
                k.QUEUE,
                self.column(column.id),
                (inflow, outflow, loss, limit),
                extra=(limited, 0, 0),
                overflow=self.column(column.overflow) if column.overflow else None,
                initial=column.initial,
            )
        )

    # -------------------------------------------------------------------------------- expressions

    def store(self, result: _Operand, dst: _Slot, ops: list[_Op]) -> None:
        """Make sure ``dst`` holds ``result`` (the last op usually wrote it already)."""
        if result.slot != dst or result.lag:
            ops.append(_Op(k.COPY, dst, (result,)))
            self.release(result)

    def emit(
        self, op: int, args: tuple[_Operand, ...], dst: _Slot | None, extra: tuple[int, int, int] = (0, 0, 0)
    ) -> _Operand:
        """Append ``op``; its operands' temporaries are free again, so the result may reuse one of them."""
        self.release(*args)
        target = dst if dst is not None else self.temp()
        self.ops.append(_Op(op, target, args, extra))
        return _Operand(target)

    def emit_conv(self, dst: _Slot, source: _Slot, kernel: tuple[float, ...]) -> _Operand:
        taps = self.kernel(kernel)
        self.ops.append(_Op(k.CONV, dst, source=source, taps=taps, extra=(0, 0, len(kernel))))
        return _Operand(dst)

    def expr(self, node: Expr, dst: _Slot | None = None) -> _Operand:
        """Compile ``node``; the result lands in ``dst`` when an op computes it, else stays an operand."""
        if isinstance(node, Number):
            return self.constant(node.value)
        if isinstance(node, Ref):
            return _Operand(self.column(node.name))
        if isinstance(node, Neg):
            return self.emit(k.NEG, (self.expr(node.operand),), dst)
        if isinstance(node, BinOp):
            left = self.expr(node.left)
            right = self.expr(node.right)
            return self.emit(_BINARY[node.op], (left, right), dst)
        if isinstance(node, Call):
            return self.call(node, dst)
        raise TypeError(f"{type(node).__name__} cannot be evaluated here")

    def call(self, node: Call, dst: _Slot | None) -> _Operand:
        name, args = node.name, node.args
        if name == "SHIFT":
            return self.shift(args[0], shift_lag(node), dst)
        if name == "CONV":
            source = self.materialize(args[0], self.ops)
            return self.emit_conv(dst if dst is not None else self.temp(), source, conv_kernel(node))
        if name == "PULSE":
            period, phase = pulse_args(node)
            amplitude = self.expr(args[2]) if len(args) > 2 else self.constant(1.0)
            return self.emit(k.PULSE, (amplitude,), dst, extra=(period, phase, 0))
        operands = tuple(self.expr(arg) for arg in args)
        return self.emit(_CALLS[name], operands, dst)

    def shift(self, node: Expr, lag: int, dst: _Slot | None) -> _Operand:
        if lag == 0:
            return self.expr(node, dst)
        if isinstance(node, Ref):
            return _Operand(self.column(node.name), lag, self.history.get(node.name, 0.0))
        # A compound argument gets its own row: in a feedback group it is filled at the end of each bin
        # (it may read members computed later in the bin), elsewhere just before its use.
        return _Operand(self.materialize(node, self.deferred if self.deferred is not None else self.ops), lag)

    def materialize(self, node: Expr, ops: list[_Op]) -> _Slot:
        """A full row holding ``node`` (a column row when ``node`` is a bare reference)."""
        if isinstance(node, Ref):
            return self.column(node.name)
        row = self.new_scratch()
        saved, self.ops = self.ops, ops
        try:
            self.store(self.expr(node, row), row, ops)
        finally:
            self.ops = saved
        return row


def compile_program(model: Model, rows: Mapping[str, int]) -> Program:
    """Ops for every computed column of ``model``, in evaluation order; ``rows`` maps column ids to rows."""
    with gc_paused():
        return _compile(model, rows)


def _compile(model: Model, rows: Mapping[str, int]) -> Program:
    builder = _Builder({column: _Slot("column", row) for column, row in rows.items()}, model.initial_conditions)
    by_id = {column.id: column for column in model.columns}
    segments: list[tuple[int, int, int]] = []
    for component in model.components:
        first = len(builder.ops)
        if component.feedback:
            builder.deferred = []
            for member in component.members:
                builder.compile_column(by_id[member])
            builder.ops.extend(builder.deferred)
            builder.deferred = None
            segments.append((k.BIN_MAJOR, first, len(builder.ops)))
        else:
            for member in component.members:
                builder.compile_column(by_id[member])
            if len(builder.ops) == first:
                continue
            if segments and segments[-1][0] == k.WHOLE and segments[-1][2] == first:
                segments[-1] = (k.WHOLE, segments[-1][1], len(builder.ops))
            else:
                segments.append((k.WHOLE, first, len(builder.ops)))
    return _assemble(builder, segments, model.grid.bins)


def _assemble(builder: _Builder, segments: list[tuple[int, int, int]], bins: int) -> Program:
    columns = len(builder.slots)
    base = {
        "column": 0,
        "temp": columns * bins,
        "scratch": (columns + builder.temps) * bins,
        "taps": (columns + builder.temps + builder.scratch) * bins,
    }
    stride = {"column": bins, "temp": bins, "scratch": bins, "taps": 1}

    def offset(slot: _Slot) -> int:
        region, index = slot
        return base[region] + index * stride[region]

    # One flat list per table, extended by whole rows: much cheaper than a list per row (16k+ ops).
    code: list[int] = []
    params: list[float] = []
    constant = k.CONSTANT
    queue = k.QUEUE
    for op in builder.ops:
        operands = [0, 0, 0, 0, 0, 0, 0, 0]  # (offset, lag) of operands A-D
        history = [0.0, 0.0, 0.0, 0.0]
        max_lag = 0
        for n, (slot, lag, value) in enumerate(op.args):
            if slot is None:
                operands[2 * n + 1] = constant
            else:
                operands[2 * n] = offset(slot) - lag
                operands[2 * n + 1] = lag
                if lag > max_lag:
                    max_lag = lag
            history[n] = value
        x0, x1, x2 = op.extra
        if op.source is not None and op.taps is not None:  # CONV
            x0, x1 = offset(op.source), offset(op.taps)
        initial = 0.0
        if op.op == queue:
            x1 = offset(op.overflow) if op.overflow is not None else -1
            initial = op.initial
        code.append(op.op)
        code.append(offset(op.dst))
        code.extend(operands)
        code += (x0, x1, x2, max_lag)
        params.extend(history)
        params.append(initial)
    return Program(
        code=np.array(code, dtype=np.int64).reshape(-1, k.CODE_FIELDS),
        params=np.array(params, dtype=np.float64).reshape(-1, k.PARAM_FIELDS),
        segments=np.array(segments, dtype=np.int64).reshape(-1, 3),
        taps=np.array(builder.taps, dtype=np.float64),
        rows=columns,
        size=base["taps"] + len(builder.taps),
    )
