"""The six telemetry metrics in their fixed order, with the names each file format and semantic key uses."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Metric:
    """One telemetry metric (``telemetry.md`` §1).

    ``name`` is the PascalCase manifest name, ``semantic_keys`` the topology semantics keys that carry it
    (canonical first, then aliases), ``file_suffix`` the lower-case word of default file names, and
    ``level`` tells whether a bin holds a level (resampled by last value) or a flow (summed).
    """

    name: str
    semantic_keys: tuple[str, ...]
    file_suffix: str
    level: bool

    @property
    def semantic(self) -> str:
        """The canonical semantics key (``queueDepth``), also the ``import.json`` aggregation key."""
        return self.semantic_keys[0]


ARRIVALS = Metric("Arrivals", ("arrivals",), "arrivals", level=False)
SERVED = Metric("Served", ("served",), "served", level=False)
ERRORS = Metric("Errors", ("errors",), "errors", level=False)
EXTERNAL_DEMAND = Metric("ExternalDemand", ("externalDemand", "external_demand"), "externaldemand", level=False)
QUEUE_DEPTH = Metric("QueueDepth", ("queueDepth", "queue"), "queuedepth", level=True)
CAPACITY = Metric("Capacity", ("capacity",), "capacity", level=True)

METRICS: tuple[Metric, ...] = (ARRIVALS, SERVED, ERRORS, EXTERNAL_DEMAND, QUEUE_DEPTH, CAPACITY)
"""The *metric order* used for bindings, imported series and replay."""

METRIC_NAMES: tuple[str, ...] = tuple(m.name for m in METRICS)

_BY_NAME = {m.name: m for m in METRICS}
_BY_IMPORT_NAME = {m.file_suffix: m for m in METRICS} | {"queue": QUEUE_DEPTH}


def metric_named(name: str) -> Metric:
    """The metric with PascalCase manifest ``name``; KeyError for anything else."""
    return _BY_NAME[name]


def parse_metric(text: str) -> Metric | None:
    """An import file's metric name: case-insensitive, ``_`` and ``-`` ignored (``queue_depth``)."""
    key = text.strip().lower().replace("_", "").replace("-", "")
    return _BY_IMPORT_NAME.get(key)


def semantic_value(semantics: object, metric: Metric) -> str | None:
    """The non-blank value a raw topology ``semantics`` mapping gives ``metric`` (canonical key first).

    Non-string scalars are taken by their text (``model.md`` §1); anything else counts as absent.
    """
    if not isinstance(semantics, dict):
        return None
    for key in metric.semantic_keys:
        value = semantics.get(key)
        if isinstance(value, bool) or value is None or isinstance(value, dict | list):
            continue
        text = str(value).strip()
        if text:
            return text
    return None
