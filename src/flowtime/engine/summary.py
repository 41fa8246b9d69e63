"""Per-series sum, minimum and maximum of the finite values: one compiled pass over an evaluation."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from flowtime.engine.jit import ENGINE
from flowtime.model.spec import FloatArray


class Summary(NamedTuple):
    """Row ``i`` of each array describes series ``i``; ``count`` is its number of finite values (the other
    fields are meaningless where it is 0)."""

    sum: FloatArray
    min: FloatArray
    max: FloatArray
    count: npt.NDArray[np.int64]


@ENGINE.export("f8[:,:]", "f8[:,:]", "i8[:]")
def _summarise(values: FloatArray, out: FloatArray, counts: npt.NDArray[np.int64]) -> None:
    for row in range(values.shape[0]):
        total = 0.0
        low = math.inf
        high = -math.inf
        count = 0
        for x in values[row]:
            if math.isfinite(x):
                total += x
                count += 1
                if x < low:
                    low = x
                if x > high:
                    high = x
        out[row, 0] = total
        out[row, 1] = low
        out[row, 2] = high
        counts[row] = count


def summarise(values: npt.ArrayLike) -> Summary:
    """Sum (in bin order, from 0.0), minimum and maximum of the finite values of each row of ``values``.

    The sum is sequential, as ``model.md`` fixes summation orders (numpy's ``sum`` is pairwise); NaN and
    ±Infinity are skipped.

    Examples
    --------
    >>> s = summarise([[1.0, float("nan"), 2.5], [float("inf"), -1.0, 4.0]])
    >>> s.sum.tolist(), s.min.tolist(), s.max.tolist(), s.count.tolist()
    ([3.5, 3.0], [1.0, -1.0], [2.5, 4.0], [2, 2])
    """
    rows = np.ascontiguousarray(values, dtype=np.float64)
    if rows.ndim != 2:
        raise ValueError(f"expected one series per row (2-d), got {rows.ndim}-d")
    out = np.empty((rows.shape[0], 3))
    counts = np.empty(rows.shape[0], dtype=np.int64)
    _summarise(rows, out, counts)
    return Summary(out[:, 0], out[:, 1], out[:, 2], counts)
