"""Program compilation and the kernel: segments, scratch rows of feedback groups, caching fallback, bounds."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pytest
from tests.engine.factories import const, expr, make_model, overflow, queue
from tests.engine.reference_evaluator import assert_same_bits, reference_evaluate

from flowtime.engine import evaluate, kernels
from flowtime.engine import jit as jit_module
from flowtime.engine.jit import jit
from flowtime.engine.program import compile_program
from flowtime.model.spec import Model


def _program(model: Model):
    return compile_program(model, {column: i for i, column in enumerate(model.order)})


def _matches_reference(model: Model) -> None:
    result = evaluate(model)
    expected = reference_evaluate(model)
    for column in result.order:
        assert_same_bits(result.series(column), expected[column], column)


def test_non_feedback_columns_share_one_whole_series_segment() -> None:
    model = make_model(const("a", [1, 2, 3]), expr("b", "a * 2"), expr("c", "b + a"), expr("d", "MIN(c, 4)"))
    program = _program(model)
    assert program.segments.tolist() == [[kernels.WHOLE, 0, 3]]
    assert program.code[:, kernels.OP].tolist() == [kernels.MUL, kernels.ADD, kernels.MIN]


def test_a_feedback_group_gets_its_own_bin_major_segment() -> None:
    model = make_model(
        const("requests", [100] * 4),
        expr("retries", "SHIFT(failed, 1) * 0.5"),
        expr("attempts", "requests + retries"),
        expr("failed", "attempts * 0.25"),
        expr("after", "failed + 1"),
    )
    program = _program(model)
    assert program.segments.tolist() == [[kernels.BIN_MAJOR, 0, 3], [kernels.WHOLE, 3, 4]]


def test_temporaries_are_reused_within_an_expression() -> None:
    model = make_model(const("a", [1.0, 2.0]), expr("b", "(a + 1) * 2 - 3 + a / 4"), expr("c", "a * 2 + 1"))
    program = _program(model)
    assert program.size == (program.rows + 2) * 2  # two temporaries serve both expressions
    assert evaluate(model).series("b").tolist() == [1.25, 3.5]


def test_compound_shift_argument_inside_a_feedback_group_is_filled_at_the_end_of_each_bin() -> None:
    # `a` reads `b`, which comes later in the same bin: the lagged sub-expression must see b's bin value.
    model = make_model(
        const("src", [1, 2, 3, 4]),
        expr("a", "SHIFT(b * 2 + 1, 1) + src"),
        expr("b", "a * 0.5"),
    )
    assert any(c.feedback for c in model.components)
    result = evaluate(model)
    assert result.series("a").tolist() == [1, 4, 8, 13]
    assert result.series("b").tolist() == [0.5, 2, 4, 6.5]
    _matches_reference(model)


def test_conv_of_a_compound_argument_inside_a_feedback_group() -> None:
    model = make_model(
        const("src", [10, 10, 10, 10]),
        expr("level", "CONV(src + SHIFT(level, 1), [0.5, 0.5])"),
        initial_conditions={"level": 2},
    )
    result = evaluate(model)
    # x[t] = src[t] + level[t-1]; level[t] = 0.5 x[t] + 0.5 x[t-1]
    assert result.series("level").tolist() == [6, 14, 20, 27]
    _matches_reference(model)


def test_nested_compound_shifts_and_pulse_inside_a_feedback_group() -> None:
    model = make_model(
        const("src", [1, 2, 3, 4, 5, 6]),
        expr("x", "SHIFT(SHIFT(y + 1, 1) * 2, 2) + PULSE(2, 1, SHIFT(y, 1) + src)"),
        expr("y", "x + src"),
        expr("z", "SHIFT(x, 0) + SHIFT(3, 1)"),
    )
    _matches_reference(model)


def test_queue_with_series_limit_inside_a_feedback_group() -> None:
    model = make_model(
        const("demand", [9, 9, 9, 9, 9]),
        const("limit", [20, 5, float("nan"), 1, -2]),
        expr("served", "MIN(demand, 4 + SHIFT(q, 1) * 0.1)"),
        queue("q", "demand", "served", limit_series="limit", overflow="spill", initial=2),
        overflow("spill", "q"),
        initial_conditions={"q": 2},
    )
    assert any(c.feedback and "q" in c.members for c in model.components)
    result = evaluate(model)
    # bin 0 under the limit 20; bin 1 above the limit 5; bin 2 unlimited (NaN limit)
    assert result.series("q").tolist()[:3] == [6.8, 5, 9.5]
    assert result.series("spill").tolist()[:3] == [0, ((6.8 + 9) - (4 + 6.8 * 0.1)) - 5, 0]
    _matches_reference(model)


def test_jit_compiles_in_memory_when_no_cache_directory_is_writable(monkeypatch: pytest.MonkeyPatch) -> None:
    jit_module._load_all()  # numba is loaded: jit compiles at once
    real_njit = numba.njit
    calls: list[bool] = []

    def njit_without_cache_locator(*args: Any, cache: bool = False, **options: Any) -> Any:
        calls.append(cache)
        if cache:  # what numba raises at decoration time when no cache directory is writable
            raise RuntimeError("cannot cache function 'twice': no locator available for file 'x.py'")
        return real_njit(*args, **options)

    monkeypatch.setattr(numba, "njit", njit_without_cache_locator)

    def twice(x: float) -> float:
        return x * 2.0

    compiled = jit(twice)
    assert calls == [True, False]
    assert compiled(2.5) == 5.0


def test_importing_the_engine_does_not_load_numba() -> None:
    code = "import sys, flowtime.engine, flowtime.model; print('numba' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "False"


BOUNDS_SCRIPT = textwrap.dedent(
    """
    import numpy as np
    from flowtime.engine import evaluate
    from tests.engine.factories import const, expr, make_model, queue

    model = make_model(
        const("a", [1, 2, 3, 4, 5, 6, 7]),
        expr("lagged", "SHIFT(a, 9) + SHIFT(a * 2, 3)"),
        expr("smooth", "CONV(a, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])"),
        expr("fb", "SHIFT(fb, 2) + CONV(a + SHIFT(fb, 1), [0.5, 0.5]) + PULSE(3, 1, a)"),
        queue("q", "a", "lagged", "smooth", limit=3.0),
        expr("back", "SHIFT(q, 4) / a"),
        initial_conditions={"fb": 1.0, "q": 2.0},
    )
    import importlib
    module = importlib.import_module("flowtime.engine.evaluate")
    for block in (1, 2, 5, 2048):
        module.BLOCK_BINS = block
        evaluate(model)
    print("ok")
    """
)


@pytest.mark.slow
def test_kernel_stays_in_bounds_under_numba_boundscheck(tmp_path: Path) -> None:
    env = {**os.environ, "NUMBA_BOUNDSCHECK": "1", "NUMBA_CACHE_DIR": str(tmp_path), "FLOWTIME_NATIVE": "0"}
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", BOUNDS_SCRIPT], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"


def test_workspace_layout_puts_taps_after_rows() -> None:
    model = make_model(const("a", [1.0, 2.0]), expr("b", "CONV(a, [3, 4])"))
    program = _program(model)
    np.testing.assert_array_equal(program.taps, [3.0, 4.0])
    assert program.size == program.rows * 2 + 2
    assert evaluate(model).series("b").tolist() == [3, 10]
