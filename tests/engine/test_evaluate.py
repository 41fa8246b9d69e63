"""``evaluate``: worked examples B–C, SHIFT history values, seeds, determinism and the Evaluation API."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pytest
from tests.engine.factories import load_yaml

from flowtime.engine import Evaluation, effective_seed, evaluate
from flowtime.model import load_model

# The package re-exports the function under the submodule's name, so fetch the module itself.
evaluate_module = importlib.import_module("flowtime.engine.evaluate")
CONFORMANCE = Path(__file__).resolve().parents[3] / "shared" / "conformance"

EXAMPLE_B = """
nodes:
  - { id: demand,   kind: const, values: [8, 8, 8, 2, 2] }
  - { id: capacity, kind: const, values: [5, 5, 5, 5, 5] }
  - { id: backlog,  kind: expr,  expr: "MAX(0, SHIFT(backlog, 1) + demand - capacity)" }
topology:
  nodes:
    - id: Backlog
      kind: queue
      semantics: { arrivals: demand, served: capacity, queueDepth: backlog }
      initialCondition: { queueDepth: 4 }
"""

EXAMPLE_C = """
nodes:
  - {id: requests, kind: const, values: [100, 100, 100, 100]}
  - {id: retries, kind: expr, expr: "SHIFT(failed, 1) * 0.5"}
  - {id: attempts, kind: expr, expr: "requests + retries"}
  - {id: failed, kind: expr, expr: "attempts * 0.25"}
"""


def test_worked_example_b_self_shift_reads_the_initial_condition() -> None:
    result = evaluate(load_yaml(EXAMPLE_B, bins=5))
    assert result.series("backlog").tolist() == [7, 10, 13, 10, 7]


def test_worked_example_c_mutual_feedback() -> None:
    model = load_yaml(EXAMPLE_C, bins=4)
    result = evaluate(model)
    assert result.order == ("requests", "retries", "attempts", "failed")
    assert result.series("retries").tolist() == [0, 12.5, 14.0625, 14.2578125]
    assert result.series("attempts").tolist() == [100, 112.5, 114.0625, 114.2578125]
    assert result.series("failed").tolist() == [25, 28.125, 28.515625, 28.564453125]


def test_shift_history_is_q0_only_for_a_bare_reference_with_an_initial_condition() -> None:
    model = load_yaml(
        """
        nodes:
          - {id: inbound, kind: const, values: [5, 5, 5]}
          - {id: served, kind: const, values: [1, 1, 1]}
          - {id: previous, kind: expr, expr: "SHIFT(desk_queue, 1)"}
          - {id: previous_plus, kind: expr, expr: "SHIFT(desk_queue + 1, 1)"}
          - {id: literal, kind: expr, expr: "SHIFT(5, 1)"}
          - {id: twice, kind: expr, expr: "SHIFT(SHIFT(desk_queue, 1), 1)"}
          - {id: same, kind: expr, expr: "SHIFT(inbound, 0)"}
          - {id: beyond, kind: expr, expr: "SHIFT(inbound, 9)"}
        topology:
          nodes:
            - id: Desk
              kind: serviceWithBuffer
              initialCondition: {queueDepth: 3}
              semantics: {arrivals: inbound, served: served}
        """,
        bins=3,
    )
    result = evaluate(model)
    assert result.series("desk_queue").tolist() == [7, 11, 15]
    assert result.series("previous").tolist() == [3, 7, 11]
    assert result.series("previous_plus").tolist() == [0, 8, 12]
    assert result.series("literal").tolist() == [0, 5, 5]
    assert result.series("twice").tolist() == [0, 3, 7]
    assert result.series("same").tolist() == [5, 5, 5]
    assert result.series("beyond").tolist() == [0, 0, 0]


def test_feedback_backpressure_conformance_values_exactly() -> None:
    folder = CONFORMANCE / "feedback-backpressure"
    if not folder.is_dir():
        pytest.skip("conformance case not present")
    expected = json.loads((folder / "expected.json").read_text())["series"]
    result = evaluate(load_model((folder / "model.yaml").read_text(), model_dir=folder))
    for column, values in expected.items():
        assert result.series(column).tolist() == values, column


def test_evaluation_layout_and_lookup() -> None:
    model = load_yaml(EXAMPLE_C, bins=4)
    result = evaluate(model)
    assert isinstance(result, Evaluation)
    assert result.order == model.order
    assert result.grid == model.grid
    assert result.values.shape == (4, 4) and result.values.dtype == np.float64
    assert result.values.flags.c_contiguous
    for i, column in enumerate(result.order):
        assert np.shares_memory(result.series(column), result.values[i])
    assert "failed" in result and "nope" not in result
    with pytest.raises(KeyError):
        result.series("nope")


def test_evaluation_values_are_read_only() -> None:
    result = evaluate(load_yaml(EXAMPLE_C, bins=4))
    with pytest.raises(ValueError, match="read-only"):
        result.series("failed")[0] = 1.0


def test_effective_seed_rules() -> None:
    seeded = load_yaml(EXAMPLE_C + "rng: {kind: pcg32, seed: -5}\n", bins=4)
    unseeded = load_yaml(EXAMPLE_C + "rng: {kind: pcg32}\n", bins=4)
    plain = load_yaml(EXAMPLE_C, bins=4)
    assert effective_seed(seeded) == -5 and effective_seed(seeded, 8) == 8
    assert effective_seed(unseeded) == 123 and effective_seed(plain) == 123
    assert evaluate(plain, seed=0).seed == 0


SAMPLED = """
nodes:
  - {id: noise, kind: pmf, pmf: {values: [0, 1, 5], probabilities: [0.2, 0.5, 0.3]}}
  - {id: demand, kind: expr, expr: "10 + noise + SHIFT(backlog, 1) * 0.1"}
  - {id: served, kind: expr, expr: "MIN(demand, 11)"}
  - {id: smooth, kind: expr, expr: "CONV(served, [0.5, 0.25, 0.25])"}
topology:
  nodes:
    - id: Desk
      kind: serviceWithBuffer
      wipLimit: 6
      initialCondition: {queueDepth: 1}
      semantics: {arrivals: demand, served: served, queueDepth: backlog}
rng: {kind: pcg32, seed: 11}
"""


def test_same_model_and_seed_give_identical_bytes() -> None:
    model = load_yaml(SAMPLED, bins=500)
    first, second = evaluate(model), evaluate(load_yaml(SAMPLED, bins=500))
    assert first.order == second.order
    assert first.values.tobytes() == second.values.tobytes()
    assert evaluate(model, seed=12).values.tobytes() != first.values.tobytes()


@pytest.mark.parametrize("block", [1, 3, 64])
def test_results_do_not_depend_on_the_block_size(block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    model = load_yaml(SAMPLED, bins=200)
    baseline = evaluate(model).values.tobytes()
    monkeypatch.setattr(evaluate_module, "BLOCK_BINS", block)
    assert evaluate(model).values.tobytes() == baseline


def test_a_model_without_computed_columns() -> None:
    model = load_yaml("nodes:\n  - {id: a, kind: const, values: [1, 2]}\n", bins=2)
    assert evaluate(model).series("a").tolist() == [1, 2]


def test_a_model_without_nodes() -> None:
    result = evaluate(load_yaml("nodes: []\n", bins=3))
    assert result.order == () and result.values.shape == (0, 3)
