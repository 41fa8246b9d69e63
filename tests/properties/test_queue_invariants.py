"""Queue recurrence invariants (model.md §6.4–§6.5) over arbitrary inputs, including NaN and ±Infinity."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.engine.factories import const, make_model, overflow, queue
from tests.engine.reference_evaluator import assert_same_bits

from flowtime.engine import evaluate, queue_depth

SPECIAL = st.sampled_from([0.0, -0.0, math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324])
VALUES = st.one_of(SPECIAL, st.floats(-1e6, 1e6), st.integers(-20, 50).map(float))
FINITE = st.one_of(st.floats(-1e6, 1e6), st.integers(-20, 50).map(float))


@st.composite
def queue_inputs(draw: st.DrawFn, values: st.SearchStrategy[float] = VALUES) -> dict[str, object]:
    bins = draw(st.integers(1, 40))
    series = st.lists(values, min_size=bins, max_size=bins).map(lambda v: np.array(v, dtype=np.float64))
    limit = draw(st.one_of(st.none(), st.floats(0, 1e4), series))  # scalar limits are validated finite and >= 0
    return {
        "inflow": draw(series),
        "outflow": draw(series),
        "loss": draw(st.one_of(st.none(), series)),
        "initial": draw(st.floats(0, 1e4)),
        "limit": limit,
    }


def _clean(values: np.ndarray | None, bins: int) -> np.ndarray:
    if values is None:
        return np.zeros(bins)
    return np.where(np.isfinite(values), values, 0.0)


def _limits(limit: object, bins: int) -> np.ndarray:
    if limit is None:
        return np.full(bins, math.inf)
    raw = np.broadcast_to(np.asarray(limit, dtype=np.float64), (bins,))
    return np.where(np.isfinite(raw), np.maximum(raw, 0.0), math.inf)


@settings(max_examples=200, deadline=None)
@given(queue_inputs())
def test_depth_is_never_negative_nan_or_negative_zero(inputs: dict[str, object]) -> None:
    depth, spill = queue_depth(**inputs)  # type: ignore[arg-type]
    assert not np.isnan(depth).any()
    assert (depth >= 0).all() and not np.signbit(depth).any()
    assert not np.isnan(spill).any() and (spill >= 0).all()


@settings(max_examples=200, deadline=None)
@given(queue_inputs(values=FINITE))
def test_each_step_conserves_flow(inputs: dict[str, object]) -> None:
    depth, spill = queue_depth(**inputs)  # type: ignore[arg-type]
    inflow = inputs["inflow"]
    assert isinstance(inflow, np.ndarray)
    bins = inflow.shape[0]
    outflow = _clean(inputs["outflow"], bins)  # type: ignore[arg-type]
    loss = _clean(inputs["loss"], bins)  # type: ignore[arg-type]
    limits = _limits(inputs["limit"], bins)
    previous = float(inputs["initial"])  # type: ignore[arg-type]
    for t in range(bins):
        unclamped = ((previous + inflow[t]) - outflow[t]) - loss[t]
        if unclamped >= 0:
            # Q[t] = Q[t-1] + in - out - loss - overflow, with the overflow exactly the excess over the limit
            if unclamped > limits[t]:
                assert depth[t] == limits[t] and spill[t] == unclamped - limits[t]
            else:
                assert depth[t] == unclamped and spill[t] == 0
        else:
            assert depth[t] == 0 and spill[t] == 0
        assert depth[t] <= limits[t]
        previous = depth[t]


@settings(max_examples=100, deadline=None)
@given(queue_inputs())
def test_engine_queue_columns_match_the_standalone_recurrence(inputs: dict[str, object]) -> None:
    inflow = inputs["inflow"]
    assert isinstance(inflow, np.ndarray)
    limit = inputs["limit"]
    columns = [const("inflow", inflow), const("outflow", inputs["outflow"])]  # type: ignore[arg-type]
    if inputs["loss"] is not None:
        columns.append(const("loss", inputs["loss"]))  # type: ignore[arg-type]
    if isinstance(limit, np.ndarray):
        columns.append(const("limit", limit))
    limited = limit is not None
    columns.append(
        queue(
            "q",
            "inflow",
            "outflow",
            "loss" if inputs["loss"] is not None else None,
            initial=float(inputs["initial"]),  # type: ignore[arg-type]
            limit=None if isinstance(limit, np.ndarray) or limit is None else float(limit),  # type: ignore[arg-type]
            limit_series="limit" if isinstance(limit, np.ndarray) else None,
            overflow="spill" if limited else None,
        )
    )
    if limited:
        columns.append(overflow("spill", "q"))
    result = evaluate(make_model(*columns))
    depth, spill = queue_depth(**inputs)  # type: ignore[arg-type]
    assert_same_bits(result.series("q"), depth, "depth")
    if limited:
        assert_same_bits(result.series("spill"), spill, "overflow")
