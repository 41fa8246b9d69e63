"""Rules of ``pmf`` nodes (``model.md`` §4.3): the two shapes, the checks in table order, renormalisation."""

from __future__ import annotations

import math
from typing import Any

from flowtime.model.parse import Loc, format_path, resolve_plain
from flowtime.model.report import Reporter
from flowtime.model.values import as_number, format_number, shown_value

Distribution = tuple[tuple[float, ...], tuple[float, ...]]


def check_pmf(loc: Loc, pmf: Any, report: Reporter, shown: str, max_entries: int) -> Distribution | None:
    """The normalised ``(values, probabilities)`` of the ``pmf`` at ``loc``, or None (reported)."""
    if pmf is not None and not isinstance(pmf, dict):
        report.error("invalid_type", f"{format_path(loc)} must be a mapping", loc, node_id=shown)
        return None
    entries = _pmf_entries(loc, pmf, report, shown) if pmf else []
    if entries is None:
        return None
    if not entries:
        message = f"Node {shown}: pmf nodes require pmf property with at least one value"
        report.error("missing_field", message, loc, node_id=shown)
        return None
    if len(entries) > max_entries:
        message = f"Node {shown}: pmf has {len(entries)} entries; the maximum is {max_entries}"
        report.error("limit_exceeded", message, loc, node_id=shown)
        return None
    return _pmf_distribution(loc, entries, report, shown)


# A pmf entry: (value, probability, location of the value, location of the probability); None = not a number.
_Entry = tuple[float | None, float | None, Loc, Loc]


def _pmf_entries(loc: Loc, pmf: dict[str, Any], report: Reporter, shown: str) -> list[_Entry] | None:
    """The entries of shape A or B in document order; None when shape A is malformed (reported)."""
    if set(pmf) == {"values", "probabilities"}:
        values, probabilities = pmf["values"], pmf["probabilities"]
        for key, value in (("values", values), ("probabilities", probabilities)):
            if not isinstance(value, list):
                report.error("invalid_type", f"{format_path((*loc, key))} must be a list", (*loc, key), node_id=shown)
                return None
        if len(values) != len(probabilities):
            message = (
                f"Node {shown}: pmf values and probabilities must have the same length "
                f"({len(values)} vs {len(probabilities)})"
            )
            report.error("pmf_invalid", message, loc, node_id=shown)
            return None
        entries: list[_Entry] = []
        for i, (value, probability) in enumerate(zip(values, probabilities, strict=True)):
            number, weight = as_number(value), as_number(probability)
            value_loc, weight_loc = (*loc, "values", i), (*loc, "probabilities", i)
            if number is None:
                message = f"Node {shown}: invalid PMF value '{shown_value(value)}' - must be a valid number"
                report.error("pmf_invalid", message, value_loc, node_id=shown)
            if weight is None:
                message = _bad_probability(shown, probability)
                report.error("pmf_invalid", message, weight_loc, node_id=shown)
            entries.append((number, weight, value_loc, weight_loc))
        return entries
    entries = []
    for key, probability in pmf.items():
        key_loc = (*loc, key)
        number = _pmf_key(key)
        weight = as_number(probability)
        if number is None:
            message = f"Node {shown}: invalid PMF value '{key}' - must be a valid number"
            report.error("pmf_invalid", message, key_loc, node_id=shown, key=True)
        if weight is None:
            message = _bad_probability(shown, probability)
            report.error("pmf_invalid", message, key_loc, node_id=shown)
        entries.append((number, weight, key_loc, key_loc))
    return entries


def _pmf_key(key: str) -> float | None:
    """A shape-B key: a decimal or scientific number, or a YAML special float such as ``.inf``."""
    number = as_number(key)
    if number is None:
        resolved = resolve_plain(key.strip())
        number = resolved if resolved.__class__ is float else None
    return number


def _pmf_distribution(
    loc: Loc, entries: list[_Entry], report: Reporter, shown: str
) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """Checks of ``model.md`` §4.3 in table order, then the normalised distribution (None on any error)."""
    before = report.error_count
    seen: set[float] = set()
    for value, _, value_loc, _ in entries:
        if value is not None and math.isfinite(value):
            if value in seen:
                message = f"Node {shown}: duplicate PMF value '{format_number(value)}'"
                report.error("pmf_invalid", message, value_loc, node_id=shown)
            seen.add(value)
    prefix = f"Node {shown}: error creating PMF: "
    for value, _, value_loc, _ in entries:
        if value is not None and not math.isfinite(value):
            message = f"{prefix}PMF value cannot be NaN or infinite: {format_number(value)}"
            report.error("pmf_invalid", message, value_loc, node_id=shown)
    for value, weight, _, weight_loc in entries:
        if weight is not None and not math.isfinite(weight):
            message = f"{prefix}PMF probability cannot be NaN or infinite: {format_number(weight)}"
            report.error("pmf_invalid", message, weight_loc, node_id=shown)
        elif weight is not None and weight < 0:
            shown_value = format_number(value) if value is not None else "?"
            message = (
                f"{prefix}PMF probabilities must be non-negative, got {format_number(weight)} for value {shown_value}"
            )
            report.error("pmf_invalid", message, weight_loc, node_id=shown)
    if report.error_count > before:
        return None
    values = tuple(float(v) for v, _, _, _ in entries if v is not None)
    weights = tuple(float(w) for _, w, _, _ in entries if w is not None)
    total = 0.0
    for weight in weights:
        total += weight
    if total <= 0:
        message = f"{prefix}PMF probabilities sum to zero or negative value"
        report.error("pmf_invalid", message, loc, node_id=shown)
        return None
    if abs(total - 1.0) > 1e-6:
        message = f"PMF '{shown}': Probabilities sum to {total:.6f}, renormalizing to 1.0"
        report.warning("pmf_renormalized", message, loc, node_id=shown)
        weights = tuple(w / total for w in weights)
    return values, weights


def _bad_probability(shown: str, probability: Any) -> str:
    return f"Node {shown}: invalid PMF probability '{shown_value(probability)}' - must be a valid number"


__all__ = ["Distribution", "check_pmf"]
