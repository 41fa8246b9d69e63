"""Queue recurrence, WIP limits, overflow routing and retry echo (model.md §6.4–§6.5)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from tests.engine.factories import load_yaml

from flowtime.engine import evaluate, queue_depth
from flowtime.model import load_model

NAN, INF = math.nan, math.inf
CONFORMANCE = Path(__file__).resolve().parents[3] / "shared" / "conformance"


def test_queue_depth_worked_example_d() -> None:
    depth, overflow = queue_depth(
        np.array([20.0, 20, 5, 0]), np.array([12.0, 12, 12, 12]), np.array([1.0, 1, 0, 0]), initial=3
    )
    assert depth.tolist() == [10, 17, 10, 0]
    assert overflow.tolist() == [0, 0, 0, 0]


def test_non_finite_inputs_count_as_zero_and_negative_inputs_are_used() -> None:
    depth, _ = queue_depth(
        np.array([NAN, INF, -INF, 5.0, -2.0]),
        np.array([0.0, NAN, 0.0, -1.0, 0.0]),
        np.array([0.0, 0.0, INF, 0.0, 0.0]),
        initial=4,
    )
    assert depth.tolist() == [4, 4, 4, 10, 8]


def test_depth_never_goes_below_zero() -> None:
    depth, _ = queue_depth(np.array([1.0, 1.0]), np.array([5.0, 0.0]))
    assert depth.tolist() == [0, 1]
    assert not np.signbit(depth).any()


def test_scalar_wip_limit_moves_the_excess_to_overflow() -> None:
    depth, overflow = queue_depth(np.full(4, 12.0), np.full(4, 3.0), limit=15.0)
    assert depth.tolist() == [9, 15, 15, 15]
    assert overflow.tolist() == [0, 3, 9, 9]


def test_series_limit_non_finite_means_no_limit_and_negative_means_zero() -> None:
    depth, overflow = queue_depth(np.full(4, 10.0), np.zeros(4), limit=np.array([NAN, 5.0, -3.0, INF]), initial=0.0)
    assert depth.tolist() == [10, 5, 0, 10]
    assert overflow.tolist() == [0, 15, 15, 0]


def test_queue_depth_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="3 bins"):
        queue_depth(np.zeros(3), np.zeros(2))


def test_synthesized_queue_worked_example_d() -> None:
    model = load_yaml(
        """
        nodes:
          - {id: inbound, kind: const, values: [20, 20, 5, 0]}
          - {id: processed, kind: const, values: [12, 12, 12, 12]}
          - {id: rejected, kind: const, values: [1, 1, 0, 0]}
        topology:
          nodes:
            - id: IntakeQueue
              kind: serviceWithBuffer
              semantics: {arrivals: inbound, served: processed, errors: rejected}
              initialCondition: {queueDepth: 3}
        """,
        bins=4,
    )
    assert evaluate(model).series("intake_queue_queue").tolist() == [10, 17, 10, 0]


@pytest.mark.parametrize("case", ["wip-overflow", "queue-basic"])
def test_conformance_queue_cases_exactly(case: str) -> None:
    folder = CONFORMANCE / case
    if not folder.is_dir():
        pytest.skip(f"conformance case {case} not present")
    expected = json.loads((folder / "expected.json").read_text())["series"]
    result = evaluate(load_model((folder / "model.yaml").read_text(), model_dir=folder))
    for column, values in expected.items():
        assert result.series(column).tolist() == values, column


def test_overflow_routes_through_the_inflow_chain_of_the_target() -> None:
    model = load_yaml(
        """
        nodes:
          - {id: a_in, kind: const, values: [10, 10, 10]}
          - {id: a_out, kind: const, values: [2, 2, 2]}
          - {id: b_in, kind: const, values: [1, 1, 1]}
          - {id: b_out, kind: const, values: [0, 0, 0]}
        topology:
          nodes:
            - id: A
              kind: serviceWithBuffer
              wipLimit: 5
              wipOverflow: B
              semantics: {arrivals: a_in, served: a_out}
            - id: B
              kind: queue
              semantics: {arrivals: b_in, served: b_out}
        """,
        bins=3,
    )
    result = evaluate(model)
    assert result.series("a_queue").tolist() == [5, 5, 5]
    assert result.series("a_overflow").tolist() == [3, 8, 8]
    assert result.series("a_wip_limit").tolist() == [5, 5, 5]
    assert result.series("b_inflow_from_a").tolist() == [4, 9, 9]
    assert result.series("b_queue").tolist() == [4, 13, 22]


def test_wip_limit_series_is_read_per_bin() -> None:
    model = load_yaml(
        """
        nodes:
          - {id: arrivals, kind: const, values: [10, 10, 10, 10]}
          - {id: served, kind: const, values: [0, 0, 0, 0]}
          - {id: limit, kind: const, values: [.nan, 15, -1, .inf]}
        topology:
          nodes:
            - id: Desk
              kind: queue
              wipLimitSeries: limit
              semantics: {arrivals: arrivals, served: served}
        """,
        bins=4,
    )
    result = evaluate(model)
    assert result.series("desk_queue").tolist() == [10, 15, 0, 10]
    assert result.series("desk_overflow").tolist() == [0, 5, 25, 0]


def test_retry_echo_worked_example() -> None:
    model = load_yaml(
        """
        nodes:
          - {id: arrivals, kind: const, values: [50, 50, 50, 50, 50]}
          - {id: served, kind: const, values: [40, 40, 40, 40, 40]}
          - {id: errors, kind: const, values: [10, 10, 10, 10, 10]}
        topology:
          nodes:
            - id: Api
              kind: serviceWithBuffer
              semantics:
                arrivals: arrivals
                served: served
                errors: errors
                retryEcho: api_retries
                retryKernel: [0.0, 0.6, 0.3, 0.1]
        """,
        bins=5,
    )
    assert evaluate(model).series("api_retries").tolist() == [0, 6, 9, 10, 10]


def test_retry_echo_fed_back_through_shift_joins_the_feedback_group() -> None:
    model = load_yaml(
        """
        nodes:
          - {id: fresh, kind: const, values: [100, 100, 100, 100]}
          - {id: arrivals, kind: expr, expr: "fresh + SHIFT(echo, 1)"}
          - {id: failed, kind: expr, expr: "arrivals * 0.1"}
        topology:
          nodes:
            - id: Api
              kind: serviceWithBuffer
              semantics:
                arrivals: arrivals
                served: arrivals
                errors: failed
                retryEcho: echo
                retryKernel: [0.0, 1.0]
        """,
        bins=4,
    )
    assert any(c.feedback and "echo" in c.members for c in model.components)
    result = evaluate(model)
    # echo[t] = failed[t-1]; arrivals[t] = 100 + echo[t-1] = 100 + failed[t-2].
    assert result.series("arrivals").tolist() == [100, 100, 110, 110]
    assert result.series("echo").tolist() == [0, 10, 10, 11]


def test_queue_inside_a_feedback_group_reads_its_initial_depth_through_shift() -> None:
    model = load_yaml(
        """
        nodes:
          - {id: demand, kind: const, values: [20, 20, 20]}
          - {id: capacity, kind: const, values: [10, 10, 10]}
          - {id: served, kind: expr, expr: "MIN(demand + SHIFT(backlog, 1), capacity)"}
        topology:
          nodes:
            - id: Desk
              kind: serviceWithBuffer
              initialCondition: {queueDepth: 5}
              semantics: {arrivals: demand, served: served, queueDepth: backlog}
        """,
        bins=3,
    )
    result = evaluate(model)
    assert result.series("served").tolist() == [10, 10, 10]
    assert result.series("backlog").tolist() == [15, 25, 35]
