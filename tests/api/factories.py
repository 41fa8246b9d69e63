"""Hand-built run directories, in this project's layout or the reference's, for state and service tests.

They are written file by file (not through the run writer) so tests control every byte a reader must
tolerate: BOMs, ``t,value`` headers, ``file:`` semantics, missing or corrupt files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flowtime.logs import get_logger
from flowtime.runs import execute_model

SERVICE_MODEL = """\
schemaVersion: 1
mode: {mode}
metadata:
  id: checkout
  title: Checkout
  version: 1.2.0
grid:
  bins: 4
  binSize: 5
  binUnit: minutes
  start: 2026-03-02T08:00:00Z
nodes:
  - id: arrivals
    kind: const
    values: [10, 20, 30, 40]
  - id: served
    kind: const
    values: [10, 15, 27, 20]
  - id: capacity
    kind: const
    values: [20, 25, 30, 0]
  - id: queue_depth
    kind: const
    values: [0, 36, 54, 80]
topology:
  nodes:
    - id: Checkout
      kind: service
      semantics: {{arrivals: arrivals, served: served, capacity: capacity}}
    - id: RefundQueue
      kind: queue
      semantics: {{arrivals: arrivals, served: served, queueDepth: queue_depth, slaMin: 10}}
"""

SERVICE_SERIES: Mapping[str, Sequence[float]] = {
    "arrivals": [10, 20, 30, 40],
    "served": [10, 15, 27, 20],
    "capacity": [20, 25, 30, 0],
    "queue_depth": [0, 36, 54, 80],
}


def csv_text(values: Sequence[float | None], *, header: str = "bin_index,value") -> str:
    rows = [header] + [f"{i},{'' if v is None else v}" for i, v in enumerate(values)]
    return "\n".join(rows) + "\n"


def series_id(column: str) -> str:
    return f"{column}@{column.upper()}@DEFAULT"


def write_run_dir(
    root: Path,
    run_id: str,
    *,
    model: str | None = None,
    series: Mapping[str, Sequence[float | None]] | None = None,
    mode: str = "simulation",
    metadata: Mapping[str, Any] | None = None,
    run: Mapping[str, Any] | None = None,
    telemetry_manifest: Mapping[str, Any] | None = None,
    telemetry_files: Mapping[str, str] | None = None,
    header: str = "bin_index,value",
    bom: bool = False,
    created: str | None = "2026-03-02T08:20:03.771045Z",
) -> Path:
    """A run directory with run.json, model/model.yaml, metadata.json, series/ and index.json.

    ``metadata``/``run`` entries override (a ``None`` value removes the key). ``telemetry_files`` are written
    under ``model/telemetry/`` verbatim. ``bom`` prefixes every JSON and CSV file with a UTF-8 BOM.
    """
    run_dir = root / run_id
    (run_dir / "model").mkdir(parents=True)
    (run_dir / "series").mkdir()
    text = model if model is not None else SERVICE_MODEL.format(mode=mode)
    model_bytes = text.encode()
    (run_dir / "model" / "model.yaml").write_bytes(model_bytes)
    (run_dir / "spec.yaml").write_bytes(model_bytes)
    model_hash = "sha256:" + hashlib.sha256(model_bytes).hexdigest()
    prefix = "\ufeff" if bom else ""
    entries = []
    for column, values in (series if series is not None else SERVICE_SERIES).items():
        sid = series_id(column)
        path = f"series/{sid}.csv"
        (run_dir / path).write_text(prefix + csv_text(values, header=header), encoding="utf-8")
        entries.append({"id": sid, "kind": "flow", "path": path, "points": len(values)})
    _write_json(
        run_dir / "series" / "index.json",
        {"schemaVersion": 1, "grid": {"bins": 4}, "series": entries},
        prefix,
    )
    run_doc: dict[str, Any] = {
        "schemaVersion": 1,
        "runId": run_id,
        "grid": {"bins": 4, "binSize": 5, "binUnit": "minutes", "timezone": "UTC", "align": "left"},
        "modelHash": model_hash,
        "scenarioHash": "sha256:" + "5" * 64,
        "createdUtc": created,
        "warnings": [],
        "series": [{"id": e["id"], "path": e["path"]} for e in entries],
    }
    _write_json(run_dir / "run.json", _merge(run_doc, run), prefix)
    meta_doc: dict[str, Any] = {
        "schemaVersion": 1,
        "templateId": "checkout",
        "templateTitle": "Checkout",
        "templateVersion": "1.2.0",
        "mode": mode,
        "modelHash": model_hash,
        "parameters": {"bins": 4},
    }
    _write_json(run_dir / "model" / "metadata.json", _merge(meta_doc, metadata), prefix)
    _write_json(run_dir / "manifest.json", {"schemaVersion": 1, "rng": {"kind": "pcg32", "seed": 123}}, prefix)
    if telemetry_manifest is not None or telemetry_files:
        (run_dir / "model" / "telemetry").mkdir()
    for name, content in (telemetry_files or {}).items():
        (run_dir / "model" / "telemetry" / name).write_text(prefix + content, encoding="utf-8")
    if telemetry_manifest is not None:
        _write_json(run_dir / "model" / "telemetry" / "telemetry-manifest.json", telemetry_manifest, prefix)
    return run_dir


def telemetry_manifest(
    files: Sequence[Mapping[str, Any]] = (), warnings: Sequence[Mapping[str, Any]] = (), run_id: str = "src"
) -> dict[str, Any]:
    return {
        "schemaVersion": 1,
        "grid": {"bins": 4, "binSize": 5, "binUnit": "minutes"},
        "files": list(files),
        "warnings": list(warnings),
        "provenance": {
            "runId": run_id,
            "scenarioHash": "sha256:" + "5" * 64,
            "capturedAtUtc": "2026-03-02T09:00:00.000000Z",
        },
    }


def _merge(base: dict[str, Any], overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    out = dict(base)
    for key, value in (overrides or {}).items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def _write_json(path: Path, doc: Any, prefix: str) -> None:
    path.write_text(prefix + json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def simulated_run(root: Path, run_id: str, *, nan_served_at: int | None = None) -> Path:
    """``SERVICE_MODEL`` evaluated and written by the real run writer; optionally ``served`` is NaN at a bin.

    The NaN is written into the stored CSV afterwards (no engine function yields it), so a capture of the
    run reports ``nan_detected`` for every node whose ``served`` semantic names that series.
    """
    written = execute_model(SERVICE_MODEL.format(mode="simulation"), runs_root=root, run_id=run_id)
    if nan_served_at is not None:
        path = written.run_dir / "series" / f"{series_id('served')}.csv"
        rows = path.read_text().splitlines()
        rows[nan_served_at + 1] = f"{nan_served_at},NaN"
        path.write_text("\n".join(rows) + "\n")
    return written.run_dir


@contextmanager
def logging_kept() -> Iterator[None]:
    """Restore the ``flowtime`` logger's handlers and level after code that configures logging (the CLI)."""
    logger = get_logger()
    handlers, level = list(logger.handlers), logger.level
    try:
        yield
    finally:
        logger.handlers[:] = handlers
        logger.setLevel(level)
