"""Turn one model text into one run bundle: load, evaluate, write — the path shared by CLI and API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from flowtime.artifacts import RunWritten, validate_run_id, write_run
from flowtime.engine import evaluate
from flowtime.model import load_model


def execute_model(
    spec_text: str,
    *,
    runs_root: Path,
    model_dir: Path | None = None,
    allowed_roots: Sequence[Path] = (),
    seed: int | None = None,
    run_id: str | None = None,
    deterministic: bool = False,
    overwrite: bool = False,
    provenance: Mapping[str, Any] | str | None = None,
    provenance_from_header: bool = False,
    received_at: datetime | None = None,
) -> RunWritten:
    """Load, evaluate and atomically write ``spec_text`` as a run under ``runs_root``.

    The run id is checked before any work so a typo costs nothing; model errors raise ``ModelInvalid``
    with every problem, and nothing is written unless evaluation succeeded.
    """
    if run_id is not None:
        validate_run_id(run_id)
    model = load_model(spec_text, model_dir=model_dir, allowed_roots=allowed_roots)
    evaluation = evaluate(model, seed=seed)
    runs_root.mkdir(parents=True, exist_ok=True)
    return write_run(
        runs_root,
        spec_text=spec_text,
        model=model,
        evaluation=evaluation,
        caller_seed=seed,
        deterministic=deterministic,
        run_id=run_id,
        overwrite=overwrite,
        provenance=provenance,
        provenance_from_header=provenance_from_header,
        received_at=received_at,
    )
