"""Per-bin semantics of operators and functions (model.md §7.2–§7.3), directly and through evaluation."""

from __future__ import annotations

import ctypes
import ctypes.util
import math

import numpy as np
import pytest
from tests.engine.factories import load_yaml

from flowtime.engine import evaluate
from flowtime.engine.functions import (
    clamp_scalar,
    divide_scalar,
    max_scalar,
    min_scalar,
    mod_scalar,
    pow_scalar,
    round_scalar,
    step_scalar,
)

NAN, INF = math.nan, math.inf

_LIBM = ctypes.CDLL(ctypes.util.find_library("m"))
_LIBM.pow.restype = ctypes.c_double
_LIBM.pow.argtypes = [ctypes.c_double, ctypes.c_double]


def same(actual: float, expected: float) -> bool:
    """Equal including the sign of zero; NaN equals NaN."""
    if math.isnan(expected):
        return math.isnan(actual)
    return actual == expected and math.copysign(1.0, actual) == math.copysign(1.0, expected)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (1.0, 0.0, 0.0),
        (1.0, -0.0, 0.0),
        (NAN, 0.0, 0.0),
        (INF, -0.0, 0.0),
        (-INF, 0.0, 0.0),
        (1.0, NAN, NAN),
        (NAN, 2.0, NAN),
        (-2.5, 4.0, -0.625),
        (0.0, -2.5, -0.0),
        (1.0, INF, 0.0),
        (1e308, 1e-10, INF),
    ],
)
def test_division_by_zero_is_positive_zero_otherwise_ieee(a: float, b: float, expected: float) -> None:
    assert same(divide_scalar(a, b), expected)


@pytest.mark.parametrize(
    ("a", "b", "smaller", "larger"),
    [
        (1.0, 2.0, 1.0, 2.0),
        (2.0, 1.0, 1.0, 2.0),
        (NAN, 1.0, NAN, NAN),
        (1.0, NAN, NAN, NAN),
        (-INF, INF, -INF, INF),
        (0.0, -0.0, -0.0, 0.0),
        (-0.0, 0.0, -0.0, 0.0),
        (3.0, 3.0, 3.0, 3.0),
    ],
)
def test_min_max_propagate_nan_and_order_signed_zeros(a: float, b: float, smaller: float, larger: float) -> None:
    assert same(min_scalar(a, b), smaller)
    assert same(max_scalar(a, b), larger)


@pytest.mark.parametrize(
    ("v", "lo", "hi", "expected"),
    [
        (5.0, 0.0, 3.0, 3.0),
        (-1.0, 0.0, 3.0, 0.0),
        (2.0, 0.0, 3.0, 2.0),
        (2.0, 5.0, 1.0, 5.0),
        (NAN, 0, 1, NAN),
    ],
)
def test_clamp_lower_bound_wins_and_nan_propagates(v: float, lo: float, hi: float, expected: float) -> None:
    assert same(clamp_scalar(v, lo, hi), expected)
    assert math.isnan(clamp_scalar(1.0, NAN, 2.0))
    assert math.isnan(clamp_scalar(1.0, 0.0, NAN))


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (4.0, 3.0, 1.0),
        (7.5, 3.0, 1.5),
        (-2.5, 3.0, 0.5),
        (10.0, 3.0, 1.0),
        (0.0, 3.0, 0.0),
        (7.0, -3.0, -2.0),
        (-7.0, -3.0, -1.0),
        (-3.0, 3.0, -0.0),
        (5.0, 0.0, 0.0),
        (NAN, -0.0, 0.0),
        (INF, 3.0, NAN),
        (3.0, INF, NAN),
        (NAN, 3.0, NAN),
    ],
)
def test_mod_takes_the_divisor_sign(a: float, b: float, expected: float) -> None:
    assert same(mod_scalar(a, b), expected)


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (0.49999999999999994, 0.0),  # floor(x + 0.5) would give 1
        (0.5, 1.0),
        (-0.5, -1.0),
        (1.5, 2.0),
        (2.5, 3.0),
        (-2.5, -3.0),
        (7.5, 8.0),
        (-0.3, -0.0),
        (4503599627370497.0, 4503599627370497.0),
        (-4503599627370497.0, -4503599627370497.0),
        (NAN, NAN),
        (INF, INF),
        (-INF, -INF),
    ],
)
def test_round_halves_away_from_zero(x: float, expected: float) -> None:
    assert same(round_scalar(x), expected)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (NAN, 0.0, 1.0),
        (INF, -0.0, 1.0),
        (1.0, NAN, 1.0),
        (-1.0, INF, 1.0),
        (0.0, -1.0, INF),
        (-0.0, -1.0, -INF),
        (-0.0, -2.0, INF),
        (-8.0, 1.0 / 3.0, NAN),
        (10.0, 400.0, INF),
        (-10.0, 401.0, -INF),
        (2.0, -1100.0, 0.0),
        (2.0, 10.0, 1024.0),
    ],
)
def test_pow_follows_c99(a: float, b: float, expected: float) -> None:
    assert same(pow_scalar(a, b), expected)


def test_pow_is_the_c_library_pow_bit_for_bit() -> None:
    rng = np.random.default_rng(7)
    for a, b in zip(rng.uniform(0, 10, 300), rng.uniform(-5, 5, 300), strict=True):
        assert pow_scalar(a, b) == _LIBM.pow(a, b)


@pytest.mark.parametrize(("x", "th", "expected"), [(5.0, 5.0, 1.0), (4.9, 5.0, 0.0), (NAN, 0.0, 0.0), (1.0, NAN, 0.0)])
def test_step_is_one_at_or_above_the_threshold(x: float, th: float, expected: float) -> None:
    assert step_scalar(x, th) == expected


EXAMPLE_A = """
nodes:
  - {id: load, kind: const, values: [4, 7.5, -2.5, 10, 0, 3]}
  - {id: lagged, kind: expr, expr: "SHIFT(load, 2)"}
  - {id: smooth, kind: expr, expr: "CONV(load, [0.5, 0.3, 0.2])"}
  - {id: rounded, kind: expr, expr: "ROUND(load)"}
  - {id: wrapped, kind: expr, expr: "MOD(load, 3)"}
  - {id: ratio, kind: expr, expr: "load / lagged"}
  - {id: tick, kind: expr, expr: "PULSE(2, 1, load)"}
  - {id: high, kind: expr, expr: "STEP(load, 5)"}
  - {id: bounded, kind: expr, expr: "CLAMP(-load * 2, -6, 6)"}
"""


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ("lagged", [0, 0, 4, 7.5, -2.5, 10]),
        ("smooth", [2, 4.95, 1.8, 5.75, 2.5, 3.5]),
        ("rounded", [4, 8, -3, 10, 0, 3]),
        ("wrapped", [1, 1.5, 0.5, 1, 0, 0]),
        ("ratio", [0, 0, -0.625, 1.3333333333333333, 0, 0.3]),
        ("tick", [0, 7.5, 0, 10, 0, 3]),
        ("high", [0, 1, 0, 1, 0, 0]),
        ("bounded", [-6, -6, 5, -6, 0, -6]),
    ],
)
def test_worked_example_a(column: str, expected: list[float]) -> None:
    series = evaluate(load_yaml(EXAMPLE_A, bins=6)).series(column)
    assert series.tolist() == expected


def test_worked_example_a_ratio_divides_zero_by_negative_to_negative_zero() -> None:
    ratio = evaluate(load_yaml(EXAMPLE_A, bins=6)).series("ratio")
    assert np.signbit(ratio[4]) and ratio[4] == 0


def test_unary_minus_is_zero_minus_operand() -> None:
    model = load_yaml(
        """
        nodes:
          - {id: x, kind: const, values: [0, 2, .nan]}
          - {id: neg, kind: expr, expr: "-x"}
          - {id: zero, kind: expr, expr: "-0 * 1"}
        """,
        bins=3,
    )
    result = evaluate(model)
    neg = result.series("neg")
    assert not np.signbit(neg[0]) and neg[1] == -2 and math.isnan(neg[2])
    assert not np.signbit(result.series("zero")).any()


def test_functions_through_evaluation_handle_nan_and_infinity() -> None:
    model = load_yaml(
        """
        nodes:
          - {id: x, kind: const, values: [.nan, .inf, -.inf, -4]}
          - {id: floor, kind: expr, expr: "FLOOR(x)"}
          - {id: ceil, kind: expr, expr: "CEIL(x / 3)"}
          - {id: abs, kind: expr, expr: "ABS(x)"}
          - {id: sqrt, kind: expr, expr: "SQRT(x)"}
          - {id: pow, kind: expr, expr: "POW(x, 0)"}
          - {id: div, kind: expr, expr: "x / 0"}
          - {id: step, kind: expr, expr: "STEP(x, -5)"}
          - {id: smooth, kind: expr, expr: "CONV(x, [1, 1])"}
        """,
        bins=4,
    )
    result = evaluate(model)
    np.testing.assert_array_equal(result.series("floor"), [NAN, INF, -INF, -4])
    np.testing.assert_array_equal(result.series("ceil"), [NAN, INF, -INF, -1])
    np.testing.assert_array_equal(result.series("abs"), [NAN, INF, INF, 4])
    np.testing.assert_array_equal(result.series("sqrt"), [NAN, INF, NAN, NAN])
    np.testing.assert_array_equal(result.series("pow"), [1, 1, 1, 1])
    np.testing.assert_array_equal(result.series("div"), [0, 0, 0, 0])
    np.testing.assert_array_equal(result.series("step"), [0, 1, 0, 1])
    np.testing.assert_array_equal(result.series("smooth"), [0, 0, 0, -4])


def test_pulse_defaults_and_phase() -> None:
    model = load_yaml(
        """
        nodes:
          - {id: every3, kind: expr, expr: "PULSE(3)"}
          - {id: shifted, kind: expr, expr: "PULSE(2, 3, 5)"}
        """,
        bins=7,
    )
    result = evaluate(model)
    assert result.series("every3").tolist() == [1, 0, 0, 1, 0, 0, 1]
    assert result.series("shifted").tolist() == [0, 0, 0, 5, 0, 5, 0]


def test_conv_single_number_kernel_long_kernel_and_empty_kernel() -> None:
    model = load_yaml(
        """
        nodes:
          - {id: x, kind: const, values: [1, 2, 3]}
          - {id: scaled, kind: expr, expr: "CONV(x, 2)"}
          - {id: long, kind: expr, expr: "CONV(x, [1, 10, 100, 1000, 10000])"}
          - {id: compound, kind: expr, expr: "CONV(x * 2, [0, 1])"}
          - {id: empty, kind: expr, expr: "CONV(x, [])"}
        """,
        bins=3,
    )
    result = evaluate(model)
    assert result.series("empty").tolist() == [0, 0, 0]
    assert result.series("scaled").tolist() == [2, 4, 6]
    assert result.series("long").tolist() == [1, 12, 123]
    assert result.series("compound").tolist() == [0, 2, 4]
