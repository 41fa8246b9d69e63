"""Gap and NaN policies applied to one series laid out on its slots (``telemetry.md`` §2.4, §9.4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

import numpy as np
import numpy.typing as npt

from flowtime.errors import InvalidInput
from flowtime.model.spec import FloatArray
from flowtime.telemetry.manifest import CaptureWarning

GapMode = Literal["ignore", "warn", "fill-zero"]
GAP_MODES: tuple[GapMode, ...] = ("ignore", "warn", "fill-zero")

BoolArray = npt.NDArray[np.bool_]


def parse_gap_mode(text: str) -> GapMode:
    """``ignore``, ``warn`` or ``fill-zero`` (case-insensitive; ``fill_zero`` accepted)."""
    mode = text.strip().lower().replace("_", "-")
    if mode not in GAP_MODES:
        raise InvalidInput(
            f"Invalid gap mode '{text}'. Expected one of: ignore, warn, fill-zero.", code="invalid_gap_mode"
        )
    return cast(GapMode, mode)


@dataclass(frozen=True, slots=True)
class ProcessedSeries:
    """The values to write, which slots stay missing (written as empty cells) and the bin warnings."""

    values: FloatArray
    missing: BoolArray
    warnings: tuple[CaptureWarning, ...]


def apply_gap_policy(
    values: FloatArray,
    missing: BoolArray,
    *,
    node_id: str,
    metric: str,
    gap_mode: GapMode,
    fill_nan: bool,
    nan_seen: BoolArray | None = None,
) -> ProcessedSeries:
    """Apply the gap and NaN rules bin by bin, warnings in ascending bin order.

    Missing slots: ``ignore`` keeps them silently, ``warn`` keeps them with ``data_gap``, ``fill-zero``
    writes 0 with ``data_gap``. Present NaN/±∞ values: kept with ``nan_detected``, or 0 with ``nan_fill``
    when ``fill_nan``. ``nan_seen`` marks finite bins that still had non-finite samples (import): they get
    ``nan_detected`` and keep their value.
    """
    out = np.array(values, dtype=np.float64, copy=True)
    gaps = np.asarray(missing, dtype=bool)
    nonfinite = ~np.isfinite(out) & ~gaps
    flagged = nonfinite | (np.asarray(nan_seen, dtype=bool) & ~gaps if nan_seen is not None else False)
    warnings: list[CaptureWarning] = []
    where = f"{node_id}:{metric}"
    report_gaps = gap_mode != "ignore"
    bins = np.flatnonzero((gaps & report_gaps) | flagged)
    for b in bins.tolist():
        if gaps[b]:
            warnings.append(_warning("data_gap", f"Missing value at bin {b} for {where}.", node_id, metric, b))
        elif fill_nan and nonfinite[b]:
            warnings.append(_warning("nan_fill", f"Filled NaN/∞ at bin {b} for {where}.", node_id, metric, b))
        else:
            warnings.append(_warning("nan_detected", f"Detected NaN/∞ at bin {b} for {where}.", node_id, metric, b))
    if fill_nan:
        out[nonfinite] = 0.0
    still_missing = gaps.copy()
    if gap_mode == "fill-zero":
        out[gaps] = 0.0
        still_missing[:] = False
    else:
        out[gaps] = np.nan
    return ProcessedSeries(out, still_missing, tuple(warnings))


def _warning(code: str, message: str, node_id: str, metric: str, b: int) -> CaptureWarning:
    return CaptureWarning(code, message, node_id=node_id, bins=(b,), metric=metric)
