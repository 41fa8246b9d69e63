"""PMF node values: the expected value, or samples from the seeded PCG32 stream (``model.md`` §9)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from flowtime.engine.jit import ENGINE
from flowtime.model.spec import FloatArray

MULTIPLIER = 6364136223846793005
INCREMENT = 1442695040888963407
_MASK64 = (1 << 64) - 1

DEFAULT_SEED = 123


@ENGINE.export("u8[:]", "u4[:]")
def _draw(generator: npt.NDArray[np.uint64], out: npt.NDArray[np.uint32]) -> None:
    """Fill ``out`` with successive PCG-XSH-RR outputs, advancing the state ``generator[0]``."""
    mult = np.uint64(MULTIPLIER)
    inc = np.uint64(INCREMENT)
    state = generator[0]
    for n in range(out.shape[0]):
        old = state
        state = old * mult + inc
        xorshifted = np.uint32(((old >> np.uint64(18)) ^ old) >> np.uint64(27))
        rot = np.uint32(old >> np.uint64(59))
        out[n] = (xorshifted >> rot) | (xorshifted << ((np.uint32(32) - rot) & np.uint32(31)))
    generator[0] = state


class Pcg32:
    """PCG32 (PCG-XSH-RR, 64-bit state, one fixed stream), seeded as the spec says: ``seed mod 2^64``,
    then one discarded draw.

    Examples
    --------
    >>> rng = Pcg32(42)
    >>> rng.next_uint32(), rng.next_uint32()
    (1971522493, 242089394)
    """

    def __init__(self, seed: int) -> None:
        self._state = np.array([seed & _MASK64], dtype=np.uint64)
        self.uint32s(1)

    def uint32s(self, count: int) -> npt.NDArray[np.uint32]:
        """The next ``count`` outputs."""
        out = np.empty(count, dtype=np.uint32)
        _draw(self._state, out)
        return out

    def doubles(self, count: int) -> FloatArray:
        """The next ``count`` values of ``nextDouble() = nextUInt32() / 2^32``, each in [0, 1)."""
        return self.uint32s(count) / 4294967296.0

    def next_uint32(self) -> int:
        return int(self.uint32s(1)[0])

    def next_double(self) -> float:
        return float(self.doubles(1)[0])


def expected_value(values: Sequence[float], probabilities: Sequence[float]) -> float:
    """``Σ v_i·p_i`` accumulated left to right from 0.0 (the bin value without an ``rng`` block)."""
    total = 0.0
    for value, probability in zip(values, probabilities, strict=True):
        total += value * probability
    return total


def sample(values: Sequence[float], probabilities: Sequence[float], uniforms: FloatArray) -> FloatArray:
    """One sample per uniform draw ``u``: the first entry with ``p > 0`` and ``u < cum``, walking entries
    in order with ``cum += p``; the last entry with ``p > 0`` when none qualifies.

    The running sums are computed once in the same left-to-right order as the walk, so a binary search over
    the positive-probability entries finds the same entry.

    Examples
    --------
    >>> sample([0.0, 5.0, 10.0], [0.5, 0.3, 0.2], np.array([0.1, 0.6, 0.9, 0.9999])).tolist()
    [0.0, 5.0, 10.0, 10.0]
    """
    cumulative: list[float] = []
    picks: list[float] = []
    running = 0.0
    for value, probability in zip(values, probabilities, strict=True):
        running += probability
        if probability > 0.0:
            cumulative.append(running)
            picks.append(value)
    choice = np.searchsorted(np.array(cumulative), uniforms, side="right")
    np.minimum(choice, len(picks) - 1, out=choice)
    return np.array(picks, dtype=np.float64)[choice]
