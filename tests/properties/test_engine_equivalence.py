"""The compiled engine equals the plain per-bin reference evaluator bit for bit on generated models."""

from __future__ import annotations

import importlib
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.engine.factories import (
    const,
    dag_model_text,
    expr,
    inflow_from,
    make_model,
    overflow,
    pmf,
    queue,
    retry_echo,
)
from tests.engine.reference_evaluator import assert_same_bits, reference_evaluate

from flowtime.engine import evaluate
from flowtime.engine.jit import ENGINE
from flowtime.model import load_model
from flowtime.model.spec import Column, Model

evaluate_module = importlib.import_module("flowtime.engine.evaluate")

SPECIAL = st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, math.nan, math.inf, -math.inf, 1e300, -1e300])
VALUES = st.one_of(SPECIAL, st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10).map(float))
LITERALS = st.sampled_from(["0", "1", "2", "0.5", "3.25", "10", "1e3", "0.1", "7"])
TAPS = st.lists(st.sampled_from(["0", "0.5", "-1", "2", "0.25", "1e-3"]), max_size=4)
UNARY = ["FLOOR", "CEIL", "ROUND", "ABS", "SQRT"]
BINARY = ["MIN", "MAX", "MOD", "POW", "STEP"]


@st.composite
def expressions(draw: st.DrawFn, same_bin: list[str], lagged: list[str], depth: int = 3) -> str:
    """Expression text whose same-bin references come from ``same_bin`` and whose references inside
    ``SHIFT(…, k ≥ 1)`` may name anything in ``lagged`` (including the column itself and later columns)."""
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        leaf = draw(st.integers(0, 3))
        if leaf == 0 or not same_bin:
            return draw(LITERALS)
        if leaf == 1:  # a lagged reference, mostly to this or a later column: it closes feedback loops
            return f"SHIFT({draw(st.sampled_from(lagged))}, {draw(st.integers(1, 3))})"
        return draw(st.sampled_from(same_bin))
    sub = lambda: draw(expressions(same_bin, lagged, depth - 1))  # noqa: E731
    shape = draw(st.integers(0, 8))
    if shape == 0:
        return f"-{sub()}"
    if shape in (1, 2):
        return f"({sub()} {draw(st.sampled_from(['+', '-', '*', '/']))} {sub()})"
    if shape == 3:
        return f"{draw(st.sampled_from(UNARY))}({sub()})"
    if shape == 4:
        return f"{draw(st.sampled_from(BINARY))}({sub()}, {sub()})"
    if shape == 5:
        return f"CLAMP({sub()}, {sub()}, {sub()})"
    if shape == 6:
        lag = draw(st.integers(0, 3))
        pool = lagged if lag else same_bin
        return f"SHIFT({draw(expressions(pool, lagged, depth - 1))}, {lag})"
    if shape == 7:
        return f"CONV({sub()}, [{', '.join(draw(TAPS))}])"
    period, phase = draw(st.integers(1, 3)), draw(st.integers(0, 2))
    return f"PULSE({period}, {phase}, {sub()})" if draw(st.booleans()) else f"PULSE({period})"


@st.composite
def models(draw: st.DrawFn) -> Model:
    bins = draw(st.integers(1, 9))
    columns: list[Column] = []
    for i in range(draw(st.integers(1, 3))):
        columns.append(const(f"c{i}", draw(st.lists(VALUES, min_size=bins, max_size=bins))))
    planned = [f"x{j}" for j in range(draw(st.integers(1, 6)))]
    known = [c.id for c in columns]
    overflows: list[str] = []
    for cid in planned:
        kind = draw(st.sampled_from(["expr", "expr", "expr", "expr", "queue", "echo", "pmf", "chain"]))
        if kind == "queue":
            inflow, outflow = draw(st.sampled_from(known)), draw(st.sampled_from(known))
            loss = draw(st.one_of(st.none(), st.sampled_from(known)))
            limit = draw(st.one_of(st.none(), st.floats(0, 50), st.sampled_from(known)))
            series_limit = limit if isinstance(limit, str) else None
            scalar_limit = limit if isinstance(limit, float) else None
            spill = f"{cid}_overflow" if limit is not None else None
            initial = draw(st.sampled_from([0.0, 0.0, 2.5, 100.0]))
            columns.append(
                queue(
                    cid,
                    inflow,
                    outflow,
                    loss,
                    initial=initial,
                    limit=scalar_limit,
                    limit_series=series_limit,
                    overflow=spill,
                )
            )
            if spill:
                columns.append(overflow(spill, cid))
                overflows.append(spill)
                known.append(spill)
        elif kind == "echo":
            columns.append(retry_echo(cid, draw(st.sampled_from(known)), draw(st.lists(st.floats(-2, 2), max_size=4))))
        elif kind == "pmf":
            size = draw(st.integers(1, 4))
            values = draw(st.lists(st.floats(-100, 100), min_size=size, max_size=size, unique=True))
            weights = draw(st.lists(st.floats(0, 1), min_size=size, max_size=size).filter(lambda w: sum(w) > 0))
            total = sum(weights)
            columns.append(pmf(cid, values, [w / total for w in weights]))
        elif kind == "chain" and overflows:
            columns.append(inflow_from(cid, draw(st.sampled_from(known)), draw(st.sampled_from(overflows))))
        else:
            later = planned[planned.index(cid) :]
            columns.append(expr(cid, draw(expressions(known, [*known, *later, *later, *later]))))
        known.append(cid)
    initial = draw(st.dictionaries(st.sampled_from(known), st.sampled_from([0.0, 1.0, 4.5]), max_size=3))
    seed = draw(st.one_of(st.none(), st.integers(-5, 5)))
    return make_model(*columns, bins=bins, initial_conditions=initial, rng=draw(st.booleans()), rng_seed=seed)


@pytest.mark.parametrize("native", [True, False], ids=["native-library", "numba-dispatchers"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models(), st.sampled_from([1, 2, 3, 2048]), st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)))
def test_fast_path_equals_reference_bit_for_bit(native: bool, model: Model, block: int, seed: int | None) -> None:
    if native and not ENGINE.is_native:
        pytest.skip("no native library on this machine")
    saved_block, saved_functions = evaluate_module.BLOCK_BINS, ENGINE._functions
    evaluate_module.BLOCK_BINS = block
    if not native:
        ENGINE._functions = {}  # entry points run as numba dispatchers
    try:
        result = evaluate(model, seed=seed)
    finally:
        evaluate_module.BLOCK_BINS = saved_block
        ENGINE._functions = saved_functions
    expected = reference_evaluate(model, seed)
    assert result.order == model.order
    for column in result.order:
        assert_same_bits(result.series(column), expected[column], column)


@pytest.mark.parametrize("native", [True, False], ids=["native-library", "numba-dispatchers"])
@pytest.mark.parametrize(("n", "bins"), [(1, 7), (12, 300), (41, 40)])
def test_benchmark_models_equal_reference_bit_for_bit(native: bool, n: int, bins: int) -> None:
    """The benchmark family (queues with SHIFT feedback, WIP limits, retry echo) at small sizes."""
    if native and not ENGINE.is_native:
        pytest.skip("no native library on this machine")
    model = load_model(dag_model_text(n, bins))
    saved = ENGINE._functions
    if not native:
        ENGINE._functions = {}
    try:
        result = evaluate(model)
    finally:
        ENGINE._functions = saved
    expected = reference_evaluate(model)
    assert result.order == model.order
    for column in result.order:
        assert_same_bits(result.series(column), expected[column], column)
