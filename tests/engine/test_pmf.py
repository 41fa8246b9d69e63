"""PCG32 test vectors, PMF sampling and expected values (model.md §9, worked example E)."""

from __future__ import annotations

import numpy as np
import pytest
from tests.engine.factories import load_yaml
from tests.engine.reference_evaluator import ReferencePcg32

from flowtime.engine import Pcg32, evaluate
from flowtime.engine.pmf import expected_value, sample


@pytest.mark.parametrize(
    ("seed", "first_five"),
    [
        (42, [1971522493, 242089394, 3457789919, 3637502659, 19596830]),
        (0, [1613493245, 3894649422, 2055130073, 2315086854, 2925816488]),
        (123, [3010882749, 1711133445, 708549532, 161668841, 445033148]),
        (-1, [3933164268, 3162695892, 3581673250, 3755174138, 839339136]),
    ],
)
def test_pcg32_spec_vectors(seed: int, first_five: list[int]) -> None:
    assert Pcg32(seed).uint32s(5).tolist() == first_five
    single = Pcg32(seed)
    assert [single.next_uint32() for _ in range(5)] == first_five


def test_next_double_spec_vector() -> None:
    rng = Pcg32(42)
    assert [rng.next_double() for _ in range(3)] == [
        0.4590308510232717,
        0.056365829426795244,
        0.8050794524606317,
    ]


@pytest.mark.parametrize("seed", [2**63 - 1, -(2**63), 2**40 + 7, 1])
def test_pcg32_matches_the_pseudo_code_over_long_streams(seed: int) -> None:
    reference = ReferencePcg32(seed)
    assert Pcg32(seed).uint32s(2000).tolist() == [reference.next_uint32() for _ in range(2000)]


def test_batches_continue_one_stream() -> None:
    rng = Pcg32(7)
    joined = np.concatenate([rng.uint32s(3), rng.uint32s(0), rng.uint32s(4)])
    assert joined.tolist() == Pcg32(7).uint32s(7).tolist()


def test_sampling_spec_vector() -> None:
    draws = sample([1.0, 2.0, 3.0], [0.2, 0.5, 0.3], Pcg32(42).doubles(10))
    assert draws.tolist() == [2, 1, 3, 3, 1, 3, 2, 2, 2, 3]


def test_sampling_skips_zero_probability_entries_and_falls_back_to_the_last_positive() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    probabilities = [0.0, 0.5, 0.5, 0.0]
    draws = sample(values, probabilities, np.array([0.0, 0.49, 0.5, 0.99, 0.9999999999]))
    assert draws.tolist() == [2, 2, 3, 3, 3]
    # u can reach the running total only through rounding; the last positive entry is then chosen.
    assert sample([5.0, 6.0, 7.0], [0.3, 0.3, 0.0], np.array([0.6])).tolist() == [6]


def test_expected_value_sums_left_to_right() -> None:
    assert expected_value([0.0, 5.0, 10.0], [0.5, 0.3, 0.2]) == 3.5
    assert expected_value([2.0, 4.0], [0.2, 0.8]) == 3.6
    assert expected_value([1e16, 1.0, -1e16], [1.0, 1.0, 1.0]) == 0.0  # (1e16 + 1) - 1e16, not 1


EXAMPLE_E = """
nodes:
  - id: delay
    kind: pmf
    pmf: {values: [0, 5, 10], probabilities: [0.5, 0.3, 0.2]}
  - id: other
    kind: pmf
    pmf: {values: [1, 2, 3], probabilities: [0.2, 0.5, 0.3]}
"""


def test_expected_value_without_rng_block() -> None:
    result = evaluate(load_yaml(EXAMPLE_E, bins=6), seed=99)
    assert result.series("delay").tolist() == [3.5] * 6
    assert result.seed == 99


def test_worked_example_e_sampling_and_stream_continuation() -> None:
    result = evaluate(load_yaml(EXAMPLE_E + "rng: {kind: pcg32, seed: 42}\n", bins=6))
    assert result.seed == 42
    assert result.series("delay").tolist() == [0, 0, 10, 10, 0, 10]
    continued = sample([1.0, 2.0, 3.0], [0.2, 0.5, 0.3], Pcg32(42).doubles(12)[6:])
    assert result.series("other").tolist() == continued.tolist()


def test_caller_seed_overrides_rng_seed_and_default_is_123() -> None:
    with_seed = load_yaml(EXAMPLE_E + "rng: {kind: pcg32, seed: 42}\n", bins=6)
    overridden = evaluate(with_seed, seed=7)
    assert overridden.seed == 7
    expected = sample([0.0, 5.0, 10.0], [0.5, 0.3, 0.2], Pcg32(7).doubles(6))
    assert overridden.series("delay").tolist() == expected.tolist()

    unseeded = evaluate(load_yaml(EXAMPLE_E + "rng: {kind: pcg32}\n", bins=6))
    assert unseeded.seed == 123
    expected = sample([0.0, 5.0, 10.0], [0.5, 0.3, 0.2], Pcg32(123).doubles(6))
    assert unseeded.series("delay").tolist() == expected.tolist()


def test_renormalised_pmf_expected_value() -> None:
    model = load_yaml(
        """
        nodes:
          - {id: size, kind: pmf, pmf: {values: [2, 4], probabilities: [1, 4]}}
        """,
        bins=2,
    )
    assert [w.code for w in model.warnings] == ["pmf_renormalized"]
    assert evaluate(model).series("size").tolist() == [3.6, 3.6]


def test_pmf_nodes_are_sampled_in_declaration_order_not_evaluation_order() -> None:
    # `late` is declared first, so it takes the first `bins` draws of the stream.
    model = load_yaml(
        """
        nodes:
          - {id: late, kind: pmf, pmf: {values: [0, 1], probabilities: [0.5, 0.5]}}
          - {id: early, kind: pmf, pmf: {values: [0, 1], probabilities: [0.5, 0.5]}}
          - {id: total, kind: expr, expr: "early + late"}
        rng: {kind: pcg32, seed: 5}
        """,
        bins=4,
    )
    draws = sample([0.0, 1.0], [0.5, 0.5], Pcg32(5).doubles(8))
    result = evaluate(model)
    assert result.series("late").tolist() == draws[:4].tolist()
    assert result.series("early").tolist() == draws[4:].tolist()
