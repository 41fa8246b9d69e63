"""``evaluate(model) -> Evaluation``: every column's series, in evaluation order (``model.md`` §8–§9)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from flowtime.engine.kernels import run_program
from flowtime.engine.pmf import DEFAULT_SEED, Pcg32, expected_value, sample
from flowtime.engine.program import compile_program
from flowtime.model.spec import ConstColumn, FloatArray, Grid, Model, PmfColumn, WipLimitColumn

# Bins per block: each block runs every column before the next starts, so the rows written by one column
# are still in cache when the next column reads them.
BLOCK_BINS = 2048


@dataclass(frozen=True, eq=False)
class Evaluation:
    """The series of one evaluation: row ``i`` of ``values`` is column ``order[i]`` (read-only)."""

    grid: Grid
    order: tuple[str, ...]
    values: FloatArray
    seed: int
    _rows: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_rows", {column: i for i, column in enumerate(self.order)})

    def series(self, column_id: str) -> FloatArray:
        """The series of ``column_id`` (a read-only row view); ``KeyError`` for an unknown id."""
        return self.values[self._rows[column_id]]

    def __contains__(self, column_id: object) -> bool:
        return column_id in self._rows


def effective_seed(model: Model, seed: int | None = None) -> int:
    """The caller's seed, else ``rng.seed``, else 123 (``model.md`` §9)."""
    if seed is not None:
        return seed
    if model.rng is not None and model.rng.seed is not None:
        return model.rng.seed
    return DEFAULT_SEED


def evaluate(model: Model, *, seed: int | None = None) -> Evaluation:
    """Evaluate a validated model.

    PMF nodes are sampled from one PCG32 stream in declaration order when the model has an ``rng`` block
    (expected values otherwise); every other computed column runs in one compiled program.
    """
    order = model.order
    bins = model.grid.bins
    rows = {column: i for i, column in enumerate(order)}
    program = compile_program(model, rows)
    workspace = np.empty(program.size, dtype=np.float64)
    workspace[program.size - program.taps.shape[0] :] = program.taps
    values = workspace[: program.rows * bins].reshape(program.rows, bins)

    chosen = effective_seed(model, seed)
    rng = Pcg32(chosen) if model.rng is not None else None
    for column in model.columns:
        row = values[rows[column.id]]
        if isinstance(column, ConstColumn):
            row[:] = column.values
        elif isinstance(column, WipLimitColumn):
            row[:] = column.value
        elif isinstance(column, PmfColumn):
            if rng is None:
                row[:] = expected_value(column.values, column.probabilities)
            else:
                row[:] = sample(column.values, column.probabilities, rng.doubles(bins))

    if program.code.shape[0]:
        spare = np.empty((2, BLOCK_BINS))
        run_program(program.code, program.params, program.segments, workspace, bins, spare)
    values.flags.writeable = False
    return Evaluation(grid=model.grid, order=order, values=values, seed=chosen)
