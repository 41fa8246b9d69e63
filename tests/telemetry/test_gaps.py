"""Gap and NaN rules per bin: which slots stay missing, which become 0, and the warnings in bin order."""

from __future__ import annotations

import math

import numpy as np
import pytest

from flowtime.errors import InvalidInput
from flowtime.telemetry.gaps import apply_gap_policy, parse_gap_mode

VALUES = np.array([30.0, math.nan, math.nan, math.inf, 41.0])
MISSING = np.array([False, True, False, False, False])


def run(gap_mode: str, fill_nan: bool, nan_seen: np.ndarray | None = None):  # type: ignore[no-untyped-def]
    return apply_gap_policy(
        VALUES,
        MISSING,
        node_id="Svc",
        metric="Served",
        gap_mode=gap_mode,
        fill_nan=fill_nan,
        nan_seen=nan_seen,
    )


def codes(result) -> list[tuple[str, tuple[int, ...] | None]]:  # type: ignore[no-untyped-def]
    return [(w.code, w.bins) for w in result.warnings]


def test_ignore_keeps_gap_silently_and_always_reports_nan() -> None:
    result = run("ignore", fill_nan=False)
    assert codes(result) == [("nan_detected", (2,)), ("nan_detected", (3,))]
    assert result.missing.tolist() == [False, True, False, False, False]
    assert math.isnan(result.values[2]) and result.values[3] == math.inf
    assert result.warnings[0].message == "Detected NaN/∞ at bin 2 for Svc:Served."
    assert result.warnings[0].node_id == "Svc" and result.warnings[0].metric == "Served"


def test_warn_reports_gap_in_bin_order() -> None:
    result = run("warn", fill_nan=False)
    assert codes(result) == [("data_gap", (1,)), ("nan_detected", (2,)), ("nan_detected", (3,))]
    assert result.warnings[0].message == "Missing value at bin 1 for Svc:Served."
    assert result.missing[1]


def test_fill_zero_and_fill_nan_write_zeros() -> None:
    result = run("fill-zero", fill_nan=True)
    assert codes(result) == [("data_gap", (1,)), ("nan_fill", (2,)), ("nan_fill", (3,))]
    assert result.values.tolist() == [30.0, 0.0, 0.0, 0.0, 41.0]
    assert not result.missing.any()
    assert result.warnings[1].message == "Filled NaN/∞ at bin 2 for Svc:Served."


def test_finite_bin_with_nonfinite_samples_gets_nan_detected_even_with_fill() -> None:
    seen = np.array([True, False, False, False, False])
    result = run("ignore", fill_nan=True, nan_seen=seen)
    assert codes(result) == [("nan_detected", (0,)), ("nan_fill", (2,)), ("nan_fill", (3,))]
    assert result.values[0] == 30.0


def test_input_arrays_are_not_modified() -> None:
    before = VALUES.copy()
    run("fill-zero", fill_nan=True)
    np.testing.assert_array_equal(VALUES, before)


@pytest.mark.parametrize(("text", "mode"), [("warn", "warn"), ("Fill_Zero", "fill-zero"), (" ignore ", "ignore")])
def test_parse_gap_mode(text: str, mode: str) -> None:
    assert parse_gap_mode(text) == mode


def test_parse_gap_mode_rejects_unknown() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_gap_mode("zero")
    assert info.value.code == "invalid_gap_mode"
    assert "ignore, warn, fill-zero" in info.value.message
