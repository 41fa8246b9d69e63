"""summarise: sum in bin order, min and max of the finite values of each series."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowtime.engine import summarise
from flowtime.engine.jit import ENGINE


def _expected(row: list[float]) -> tuple[float, float, float, int]:
    finite = [x for x in row if math.isfinite(x)]
    total = 0.0
    for x in finite:
        total += x
    return (total, min(finite), max(finite), len(finite)) if finite else (0.0, math.inf, -math.inf, 0)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.floats(), min_size=3, max_size=3), min_size=1, max_size=12))
def test_rows_match_a_plain_loop(rows: list[list[float]]) -> None:
    summary = summarise(np.array(rows))
    for i, row in enumerate(rows):
        got = (summary.sum[i], summary.min[i], summary.max[i], summary.count[i])
        assert got == _expected(row)


def test_sum_is_sequential_not_pairwise() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(0, 1e12, (4, 10_001))
    values[:, ::7] = np.nan
    summary = summarise(values)
    for i, row in enumerate(values):
        finite = row[np.isfinite(row)]
        assert summary.sum[i] == np.cumsum(finite)[-1]
        assert (summary.min[i], summary.max[i], summary.count[i]) == (finite.min(), finite.max(), finite.size)


def test_native_library_and_numba_dispatchers_agree() -> None:
    values = np.array([[1.5, -math.inf, 2.0, math.nan], [math.nan, math.nan, math.nan, math.nan]])
    native = summarise(values)
    saved = ENGINE._functions
    ENGINE._functions = {}
    try:
        dispatched = summarise(values)
    finally:
        ENGINE._functions = saved
    for a, b in zip(native, dispatched, strict=True):
        np.testing.assert_array_equal(a, b)
    assert native.count.tolist() == [2, 0]


def test_one_series_per_row() -> None:
    with pytest.raises(ValueError, match="expected one series per row"):
        summarise([1.0, 2.0])
