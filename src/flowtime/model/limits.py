"""Configurable size limits that keep a runaway model from exhausting memory (``model.md`` §11.1)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """Upper bounds checked while loading a model; every bound is inclusive.

    ``max_cells`` (bins × columns) guards against runaway input; it is not a sizing target.
    """

    max_input_bytes: int = 64 * 1024 * 1024
    max_bins: int = 1_000_000
    max_bin_size: int = 1000
    max_columns: int = 100_000
    max_cells: int = 1_000_000_000
    max_expression_length: int = 10_000
    max_expression_depth: int = 100
    max_pmf_entries: int = 10_000
    max_node_id_length: int = 100
    max_topology_id_length: int = 200
    max_yaml_depth: int = 1000


DEFAULT_LIMITS = Limits()

__all__ = ["DEFAULT_LIMITS", "Limits"]
