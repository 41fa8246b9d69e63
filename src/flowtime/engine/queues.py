"""The queue-depth recurrence with WIP limit and overflow (``model.md`` §6.4–§6.5).

The per-bin step functions are shared by the program kernel (queues inside and outside feedback groups)
and by :func:`queue_depth`, the whole-series form for callers that hold plain arrays.
"""

from __future__ import annotations

import math

import numpy as np

from flowtime.engine.jit import ENGINE, inline
from flowtime.model.spec import FloatArray


@inline
def queue_step(previous: float, inflow: float, outflow: float, loss: float) -> float:
    """``Q[t]`` from ``Q[t-1]``: non-finite inputs count as 0, the sum runs in spec order, and anything
    not above 0 (NaN included) becomes 0."""
    if not math.isfinite(inflow):
        inflow = 0.0
    if not math.isfinite(outflow):
        outflow = 0.0
    if not math.isfinite(loss):
        loss = 0.0
    c = ((previous + inflow) - outflow) - loss
    return c if c > 0.0 else 0.0


@inline
def limit_at(value: float) -> float:
    """The WIP limit a series value stands for: finite → ``max(0, v)``, non-finite → none (+Inf)."""
    if not math.isfinite(value):
        return math.inf
    return value if value > 0.0 else 0.0


@ENGINE.export("f8[:]", "f8[:]", "f8[:]", "f8", "f8[:]", "f8[:]", "f8[:]")
def _depth_loop(
    inflow: FloatArray,
    outflow: FloatArray,
    loss: FloatArray,
    initial: float,
    limit: FloatArray,
    depth: FloatArray,
    overflow: FloatArray,
) -> None:
    previous = initial
    for t in range(inflow.shape[0]):
        q = queue_step(previous, inflow[t], outflow[t], loss[t])
        cap = limit_at(limit[t])
        if q > cap:
            overflow[t] = q - cap
            q = cap
        else:
            overflow[t] = 0.0
        depth[t] = q
        previous = q


def queue_depth(
    inflow: FloatArray,
    outflow: FloatArray,
    loss: FloatArray | None = None,
    *,
    initial: float = 0.0,
    limit: float | FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Queue depth and overflow per bin for one queue.

    ``limit`` is a scalar or a series (``None``: unlimited); the overflow is all zeros without a limit.

    Examples
    --------
    >>> depth, overflow = queue_depth(np.full(4, 12.0), np.full(4, 3.0), limit=15.0)
    >>> depth.tolist(), overflow.tolist()
    ([9.0, 15.0, 15.0, 15.0], [0.0, 3.0, 9.0, 9.0])
    """
    inflow = np.ascontiguousarray(inflow, dtype=np.float64)
    bins = inflow.shape[0]
    outflow = np.ascontiguousarray(outflow, dtype=np.float64)
    losses = np.zeros(bins) if loss is None else np.ascontiguousarray(loss, dtype=np.float64)
    limits = np.broadcast_to(np.asarray(math.inf if limit is None else limit, dtype=np.float64), (bins,))
    if outflow.shape != (bins,) or losses.shape != (bins,):
        raise ValueError(f"queue inputs must all have {bins} bins")
    depth = np.empty(bins)
    overflow = np.empty(bins)
    _depth_loop(inflow, outflow, losses, float(initial), np.ascontiguousarray(limits), depth, overflow)
    return depth, overflow
