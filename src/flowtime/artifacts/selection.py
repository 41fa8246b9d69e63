"""Which evaluated columns a run writes, in which order (``artifacts.md`` §4)."""

from __future__ import annotations

from collections.abc import Sequence

from flowtime.model.spec import Model


def required_columns(model: Model) -> frozenset[str]:
    """Columns always written: those named by a topology semantic and every synthesized column.

    The state API and telemetry capture resolve topology semantics from the bundle alone, so these must
    be there whatever ``outputs`` selects.
    """
    required = {column.id for column in model.columns[model.declared_count :]}
    if model.topology is not None:
        named = {ref for node in model.topology.nodes for ref in node.semantics.refs().values()}
        required.update(named & {column.id for column in model.columns})  # file: URIs are not columns
    return frozenset(required)


def select_columns(model: Model, order: Sequence[str]) -> tuple[str, ...]:
    """The written columns: ``outputs`` resolved against ``order``, then the required ones (§4).

    ``*`` adds every column, ``prefix/*`` every column whose lower-cased id starts with the lower-cased
    prefix, anything else an exact (case-sensitive) id; each addition follows evaluation order and skips
    columns already selected. Nothing resolved (or no outputs) selects every column. Required columns
    not yet selected are appended in evaluation order.
    """
    candidates = tuple(order)
    known = frozenset(candidates)
    selected: dict[str, None] = {}
    for output in model.outputs:
        wanted = output.series.strip()
        if wanted == "*":
            selected.update(dict.fromkeys(candidates))
        elif wanted.endswith("/*"):
            prefix = wanted[:-2].lower()
            selected.update(dict.fromkeys(c for c in candidates if c.lower().startswith(prefix)))
        elif wanted in known:
            selected[wanted] = None
    if not selected:
        return candidates
    required = required_columns(model)
    selected.update(dict.fromkeys(c for c in candidates if c in required))
    return tuple(selected)
