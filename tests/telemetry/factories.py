"""Runs and captures for telemetry tests, built through the public template, engine and writer paths."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from flowtime.artifacts import json_bytes, stage_run
from flowtime.engine import evaluate
from flowtime.model import load_model
from flowtime.sim import Catalogue, RngOverride, generate_model, load_catalogue

FIXED_NOW = datetime(2026, 3, 2, 8, 20, 3, 771045, tzinfo=UTC)


@cache
def catalogue() -> Catalogue:
    """The shipped templates, loaded once per test session (loading validates every template)."""
    return load_catalogue()


def template_model(
    template_id: str, values: Mapping[str, Any] | None = None, *, rng: int | None = None
) -> tuple[str, int]:
    """The generated simulation model text of a shipped template and its effective run seed."""
    template = catalogue().get(template_id)
    override = RngOverride(rng) if rng is not None else None
    result = generate_model(template, values or {}, mode="simulation", rng=override, now=FIXED_NOW)
    return result.model, (rng if rng is not None else result.effective_seed)


def simulate(
    runs_root: Path,
    template_id: str,
    values: Mapping[str, Any] | None = None,
    *,
    rng: int | None = None,
    run_id: str | None = None,
    now: datetime = FIXED_NOW,
) -> Path:
    """A simulation run of ``template_id`` as the orchestrator writes it: deterministic id, effective seed
    as caller seed, and a ``model/telemetry/telemetry-manifest.json`` with no files."""
    text, seed = template_model(template_id, values, rng=rng)
    model = load_model(text)
    evaluation = evaluate(model, seed=seed)
    with stage_run(
        runs_root, spec_text=text, caller_seed=seed, deterministic=run_id is None, run_id=run_id, now=now
    ) as staging:
        grid = model.grid
        empty_manifest = {
            "schemaVersion": 1,
            "window": {"durationMinutes": grid.bins * grid.bin_minutes},
            "grid": {"bins": grid.bins, "binSize": grid.bin_size, "binUnit": grid.bin_unit},
            "files": [],
            "warnings": [],
            "provenance": {
                "runId": staging.run_id,
                "scenarioHash": staging.scenario_hash,
                "modelHash": staging.model_hash,
                "capturedAtUtc": "2026-03-02T08:20:03.771045Z",
            },
        }
        staging.add_model_file("telemetry/telemetry-manifest.json", json_bytes(empty_manifest))
        written = staging.commit(model=model, evaluation=evaluation, received_at=now)
    return written.run_dir


def series_of(run_dir: Path) -> dict[str, bytes]:
    """Series CSV bytes of a run by column id."""
    return {p.name.split("@", 1)[0]: p.read_bytes() for p in (run_dir / "series").glob("*.csv")}


SCENARIO = "sha256:" + "ab" * 32
MODEL_HASH = "sha256:" + "cd" * 32

SMALL_MODEL = """\
schemaVersion: 1
grid:
  bins: 4
  binSize: 15
  binUnit: minutes
  start: 2026-03-02T08:00:00Z
nodes:
  - id: calls
    values: [30, 44, 52, 41]
  - id: handled
    kind: expr
    expr: MIN(calls, 40)
topology:
  nodes:
    - id: HttpService
      semantics:
        arrivals: calls
        served: handled
outputs:
  - series: calls
    as: HttpService_arrivals
"""


def hand_run(
    root: Path,
    series: Mapping[str, str],
    *,
    model: str = SMALL_MODEL,
    run_id: str = "run_hand",
    points: Mapping[str, int] | None = None,
    paths: Mapping[str, str] | None = None,
    bins: int = 4,
) -> Path:
    """A run directory written by hand, so a test controls every byte of the source series."""
    run = root / run_id
    (run / "series").mkdir(parents=True)
    (run / "model").mkdir()
    (run / "run.json").write_bytes(
        json_bytes({"schemaVersion": 1, "runId": run_id, "scenarioHash": SCENARIO, "modelHash": MODEL_HASH})
    )
    entries = []
    for column, text in series.items():
        sid = f"{column}@{column.upper()}@DEFAULT"
        path = (paths or {}).get(column, f"series/{sid}.csv")
        if not path.startswith(("/", "..")) and "/../" not in path:
            (run / path).write_text(text, encoding="utf-8")
        entries.append({"id": sid, "path": path, "points": (points or {}).get(column, bins)})
    index = {
        "schemaVersion": 1,
        "grid": {"bins": bins, "binSize": 15, "binUnit": "Minutes"},
        "series": entries,
    }
    (run / "series" / "index.json").write_bytes(json_bytes(index))
    (run / "spec.yaml").write_text(model, encoding="utf-8")
    (run / "model" / "model.yaml").write_text(model, encoding="utf-8")
    (run / "model" / "metadata.json").write_bytes(json_bytes({"templateId": "adhoc-model", "mode": "simulation"}))
    return run


def csv_text(*cells: str) -> str:
    return "bin_index,value\n" + "".join(f"{i},{v}\n" for i, v in enumerate(cells))
