"""Derived metrics and their null rules (model.md §10, worked example G)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from flowtime.engine import NodeMetrics, derive_metrics, json_numbers

NAN, INF = math.nan, math.inf


def arr(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def service(**overrides: object) -> NodeMetrics:
    inputs: dict[str, object] = {
        "arrivals": arr(20, 16, 10, 0),
        "served": arr(18, 16, 9, 0),
        "capacity": arr(24, 16, 0, 10),
        "queue_depth": None,
        "sla_min": None,
        "bin_minutes": 15,
    }
    inputs.update(overrides)
    return derive_metrics(str(inputs.pop("kind", "service")), **inputs)  # type: ignore[arg-type]


def test_worked_example_g_service() -> None:
    metrics = service().to_json()
    assert metrics["utilization"] == [0.75, 1, None, 0]
    assert metrics["throughputRatio"] == [0.9, 1, 0.9, None]
    assert metrics["latencyMinutes"] == [None, None, None, None]
    assert metrics["colors"] == ["yellow", "red", "gray", "green"]


def test_worked_example_g_queue() -> None:
    metrics = derive_metrics(
        "queue",
        arrivals=arr(20, 16, 12, 0),
        served=arr(18, 16, 12, 0),
        capacity=None,
        queue_depth=arr(9, 40, 60, 5),
        sla_min=30,
        bin_minutes=15,
    ).to_json()
    assert metrics["latencyMinutes"] == [7.5, 37.5, 75, None]
    assert metrics["colors"] == ["green", "yellow", "red", "gray"]
    assert metrics["utilization"] == [None] * 4
    assert metrics["throughputRatio"] == [0.9, 1, 1, None]


def test_state_api_example_queue_bin() -> None:
    metrics = derive_metrics(
        "queue", arrivals=arr(8), served=arr(6), capacity=None, queue_depth=arr(15), sla_min=10, bin_minutes=5
    )
    assert metrics.at(0) == {
        "utilization": None,
        "latencyMinutes": 12.5,
        "throughputRatio": 0.75,
        "color": "yellow",
    }


def test_unmapped_inputs_give_null() -> None:
    no_capacity = service(capacity=None).to_json()
    assert no_capacity["utilization"] == [None] * 4 and no_capacity["colors"] == ["gray"] * 4
    no_served = service(served=None).to_json()
    assert no_served["utilization"] == [None] * 4 and no_served["throughputRatio"] == [None] * 4
    assert service(arrivals=None).to_json()["throughputRatio"] == [None] * 4


def test_non_finite_inputs_and_results_give_null() -> None:
    metrics = service(
        arrivals=arr(NAN, 10, 1e-320, 10), served=arr(5, INF, 1e300, 5), capacity=arr(10, 10, 1e-300, NAN)
    ).to_json()
    assert metrics["utilization"] == [0.5, None, None, None]
    assert metrics["throughputRatio"] == [None, None, None, 0.5]
    assert metrics["colors"] == ["green", "gray", "gray", "gray"]


def test_negative_capacity_and_served_rules() -> None:
    metrics = service(capacity=arr(-5, 10, 10, 10), served=arr(5, -2, 9, 0)).to_json()
    assert metrics["utilization"] == [None, -0.2, 0.9, 0]
    assert metrics["colors"] == ["gray", "green", "red", "green"]


def test_latency_only_for_queue_like_kinds_with_a_queue_series() -> None:
    depth = arr(10, 10, 10, 10)
    assert service(kind="service", queue_depth=depth).to_json()["latencyMinutes"] == [None] * 4
    swb = service(kind="serviceWithBuffer", queue_depth=depth).to_json()
    assert swb["latencyMinutes"] == [10 / 18 * 15, 10 / 16 * 15, 10 / 9 * 15, None]
    assert swb["colors"] == ["yellow", "red", "gray", "green"]  # utilization colouring, not SLA
    assert service(kind="DLQ", queue_depth=None, sla_min=5).to_json()["latencyMinutes"] == [None] * 4


def test_kinds_are_case_insensitive_and_unknown_kinds_count_as_service() -> None:
    assert service(kind="SERVICE").to_json() == service().to_json()
    assert service(kind="router-ish").to_json() == service().to_json()


@pytest.mark.parametrize("sla", [None, 0, -1, NAN])
def test_queue_color_is_gray_without_a_usable_sla(sla: float | None) -> None:
    metrics = derive_metrics(
        "dlq", arrivals=arr(1), served=arr(1), capacity=None, queue_depth=arr(1), sla_min=sla, bin_minutes=5
    )
    assert metrics.color.tolist() == ["gray"]
    assert metrics.latency_minutes.tolist() == [5]


def test_sla_boundaries_are_inclusive() -> None:
    metrics = derive_metrics(
        "queue",
        arrivals=arr(1, 1, 1),
        served=arr(1, 1, 1),
        capacity=None,
        queue_depth=arr(2, 3, 3.0000001),
        sla_min=20,
        bin_minutes=10,
    )
    assert metrics.color.tolist() == ["green", "yellow", "red"]


def test_utilization_boundaries() -> None:
    metrics = service(served=arr(6.9, 7, 9, 8.999), capacity=arr(10, 10, 10, 10))
    assert metrics.color.tolist() == ["green", "yellow", "red", "yellow"]


def test_json_numbers_drop_non_finite_and_negative_zero() -> None:
    converted = json_numbers(arr(1.5, NAN, INF, -INF, -0.0))
    assert converted == [1.5, None, None, None, 0.0]
    assert json.dumps(converted) == "[1.5, null, null, null, 0.0]"


def test_all_unmapped_needs_bins() -> None:
    kwargs = {"arrivals": None, "served": None, "capacity": None, "queue_depth": None, "sla_min": None}
    with pytest.raises(ValueError, match="bins is required"):
        derive_metrics("service", bin_minutes=5, **kwargs)
    metrics = derive_metrics("service", bin_minutes=5, bins=2, **kwargs)
    assert metrics.to_json() == {
        "utilization": [None, None],
        "latencyMinutes": [None, None],
        "throughputRatio": [None, None],
        "colors": ["gray", "gray"],
    }


def test_inputs_of_different_lengths_are_rejected() -> None:
    with pytest.raises(ValueError, match="4 bins"):
        service(capacity=arr(1, 2))
