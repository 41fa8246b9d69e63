"""The shipped examples evaluate to values computed by hand (see the comments for the arithmetic)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flowtime.engine import evaluate
from flowtime.model import load_model

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _series(name: str, **kwargs: object) -> dict[str, np.ndarray]:
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    evaluation = evaluate(load_model(text, model_dir=EXAMPLES), **kwargs)  # type: ignore[arg-type]
    return {column: evaluation.series(column) for column in evaluation.order}


def test_hello_serves_up_to_capacity() -> None:
    s = _series("hello.yaml")
    assert s["served"].tolist() == [10, 10, 8, 10]
    assert s["unmet"].tolist() == [0, 2, 0, 5]


def test_pipeline_retries_feed_back_one_bin_later() -> None:
    s = _series("pipeline.yaml")
    # retries[t] = 0.5 * errors[t-1]; served = MIN(requests + retries, 50); errors = 10% of served
    assert s["retries"].tolist() == pytest.approx([0, 1, 1.55, 2.0775, 1.603875, 0.58019375], rel=1e-12)
    assert s["gateway_served"].tolist() == pytest.approx([20, 31, 41.55, 32.0775, 11.603875, 0.58019375], rel=1e-12)
    assert s["orders_in"].tolist() == pytest.approx([18, 27.9, 37.395, 28.86975, 10.4434875, 0.522174375], rel=1e-12)


def test_pipeline_backlog_builds_and_drains() -> None:
    s = _series("pipeline.yaml")
    # orders_served = MIN(in + Q[t-1], 25); Q[t] = max(0, Q[t-1] + in - served)
    assert s["orders_served"].tolist() == pytest.approx([18, 25, 25, 25, 25, 5.130411875], rel=1e-12)
    assert s["orders_queue"].tolist() == pytest.approx([0, 2.9, 15.295, 19.16475, 4.6082375, 0], rel=1e-12, abs=1e-9)
    assert s["billing_served"].tolist() == s["orders_served"].tolist()


def test_pmf_is_sampled_with_the_model_seed() -> None:
    # PCG32 seed 42 draws 0.459, 0.056, 0.805, ... -> 0, 0, 10, 10, 0, 10 (model.md §13 E)
    s = _series("pmf.yaml")
    assert s["batch_size"].tolist() == [0, 0, 10, 10, 0, 10]
    assert s["items"].tolist() == [0, 0, 20, 20, 0, 20]


def test_pmf_without_rng_is_the_expected_value() -> None:
    text = (EXAMPLES / "pmf.yaml").read_text(encoding="utf-8").split("rng:")[0]
    evaluation = evaluate(load_model(text))
    # 0*0.5 + 5*0.3 + 10*0.2 = 3.5
    assert evaluation.series("batch_size").tolist() == [3.5] * 6
    assert evaluation.series("items").tolist() == [7.0] * 6
