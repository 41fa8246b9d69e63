"""Model in, series out: evaluation of a validated model, PMF sampling, queues and derived metrics."""

from flowtime.engine.evaluate import Evaluation, effective_seed, evaluate
from flowtime.engine.metrics import Color, NodeMetrics, derive_metrics, json_numbers
from flowtime.engine.pmf import DEFAULT_SEED, Pcg32
from flowtime.engine.queues import queue_depth
from flowtime.engine.summary import Summary, summarise
from flowtime.model.spec import FloatArray as Series

__all__ = [
    "DEFAULT_SEED",
    "Color",
    "Evaluation",
    "NodeMetrics",
    "Pcg32",
    "Series",
    "Summary",
    "derive_metrics",
    "effective_seed",
    "evaluate",
    "json_numbers",
    "queue_depth",
    "summarise",
]
