"""write_run fed by the real loader and engine: the §17 example and a topology model end to end."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from tests.artifacts.factories import EXAMPLE_TEXT
from tests.artifacts.test_write import INDEX_JSON, RUN_JSON
from tests.engine.factories import dag_model_text

from flowtime.artifacts import (
    encode_series_csv,
    layout,
    normalise_spec_text,
    open_bundle,
    select_columns,
    sha256_bytes,
    write_run,
)
from flowtime.engine import evaluate
from flowtime.model import load_model

NOW = datetime(2025, 11, 21, 9, 45, 1, 250000, tzinfo=UTC)

TOPOLOGY_TEXT = """\
schemaVersion: 1
metadata:
  id: support-desk
  title: Support Desk
  version: 1.10
grid:
  bins: 4
  binSize: 1
  binUnit: Hours
nodes:
  - id: inbound
    kind: const
    values: [20, 20, 5, 0]
  - id: processed
    kind: const
    values: [12, 12, 12, 12]
  - id: rejected
    kind: const
    values: [1, 1, 0, 0]
  - id: ratio
    kind: expr
    expr: "processed / inbound"
outputs:
  - series: ratio
topology:
  nodes:
    - id: IntakeQueue
      kind: serviceWithBuffer
      semantics: { arrivals: inbound, served: processed, errors: rejected }
      initialCondition: { queueDepth: 3 }
"""

PROVENANCE_BLOCK = """\
provenance:
  source: flowtime-sim
  generator: flowtime-sim/0.1.0
  generatedAt: 2026-03-02T08:20:03.771045Z
  templateId: support-desk
  modelId: model_123
  mode: simulation
  schemaVersion: 1
  parameters:
    bins: 4
    rate: 1.5
    pattern: [1, 2]
"""


def run_text(root: Path, text: str, seed: int | None = None, **options):
    model = load_model(text)
    return write_run(
        root,
        spec_text=text,
        model=model,
        evaluation=evaluate(model, seed=seed),
        caller_seed=seed,
        now=NOW,
        **options,
    )


def test_worked_example_through_loader_and_engine(tmp_path: Path) -> None:
    written = run_text(tmp_path, EXAMPLE_TEXT, deterministic=True)

    run_dir = written.run_dir
    assert written.run_id == "run_deterministic_93753120"
    assert (run_dir / "series/index.json").read_text() == INDEX_JSON
    assert sha256_bytes((run_dir / "series/index.json").read_bytes()) == (
        "sha256:d539ef1b8348bbc2b503300b8692fe98611a56892fa05f7fe6298a0c171f80ea"
    )
    assert (run_dir / "run.json").read_text() == RUN_JSON
    assert json.loads((run_dir / "manifest.json").read_text())["rng"] == {"kind": "pcg32", "seed": 123}


def test_topology_model_writes_required_and_state_series(tmp_path: Path) -> None:
    written = run_text(tmp_path, TOPOLOGY_TEXT + PROVENANCE_BLOCK, deterministic=True)

    assert written.series_ids == (
        "ratio@RATIO@DEFAULT",
        "inbound@INBOUND@DEFAULT",
        "processed@PROCESSED@DEFAULT",
        "rejected@REJECTED@DEFAULT",
        "intake_queue_queue@INTAKE_QUEUE_QUEUE@DEFAULT",
    )
    bundle = open_bundle(written.run_dir)
    queue = next(s for s in bundle.series if s.id.startswith("intake_queue_queue@"))
    assert (queue.kind, queue.unit) == ("state", "entities")
    assert bundle.read_series("intake_queue_queue").values.tolist() == [10, 17, 10, 0]
    assert bundle.series_bytes("ratio") == b"bin_index,value\n0,0.6\n1,0.6\n2,2.4\n3,0\n"
    assert bundle.run["grid"] == {
        "bins": 4,
        "binSize": 1,
        "binUnit": "hours",
        "timezone": "UTC",
        "align": "left",
    }
    assert [s["unit"] for s in bundle.run["series"]][-1] == "entities"


def test_generated_model_provenance_is_stripped_and_recorded(tmp_path: Path) -> None:
    with_block = run_text(tmp_path / "a", TOPOLOGY_TEXT + PROVENANCE_BLOCK, deterministic=True)
    without = run_text(tmp_path / "b", TOPOLOGY_TEXT, deterministic=True)

    assert with_block.scenario_hash == without.scenario_hash
    assert (with_block.run_dir / "spec.yaml").read_bytes() == TOPOLOGY_TEXT.encode()
    metadata = json.loads((with_block.run_dir / "model/metadata.json").read_text())
    assert metadata["templateId"] == "support-desk"
    assert metadata["templateVersion"] == "1.10"
    assert metadata["modelId"] == "model_123"
    assert metadata["parameters"] == {"bins": 4, "rate": 1.5, "pattern": [1, 2]}
    provenance = json.loads((with_block.run_dir / "model/provenance.json").read_text())
    assert (provenance["modelId"], provenance["mode"]) == ("model_123", "simulation")
    assert not (without.run_dir / "model/provenance.json").exists()
    assert json.loads((without.run_dir / "model/metadata.json").read_text())["modelId"] is None


def test_written_spec_loads_back_to_the_same_series(tmp_path: Path) -> None:
    written = run_text(tmp_path, TOPOLOGY_TEXT + PROVENANCE_BLOCK, seed=9, deterministic=True)
    bundle = open_bundle(written.run_dir)
    spec = bundle.read_spec_text()

    assert spec is not None and normalise_spec_text(spec).text == spec
    rerun = run_text(tmp_path / "again", spec, seed=9, deterministic=True)
    assert rerun.run_id == written.run_id
    for series_id in written.series_ids:
        assert (rerun.run_dir / f"series/{series_id}.csv").read_bytes() == bundle.series_bytes(series_id)


def test_benchmark_model_writes_every_series_in_order_with_the_bytes_of_the_encoder(tmp_path: Path) -> None:
    """Hundreds of series (written a few at a time) keep the evaluation order, and each file holds exactly
    what the encoder makes of its series, under the hash index.json records."""
    text = dag_model_text(30, 50)
    model = load_model(text)
    evaluation = evaluate(model)
    written = write_run(tmp_path, spec_text=text, model=model, evaluation=evaluation, deterministic=True)
    index = json.loads((written.run_dir / "series" / "index.json").read_text())
    columns = select_columns(model, evaluation.order)
    assert len(columns) > 150
    assert [entry["id"] for entry in index["series"]] == [layout.series_id(c) for c in columns]
    for column, entry in zip(columns, index["series"], strict=True):
        data = (written.run_dir / entry["path"]).read_bytes()
        assert data == encode_series_csv(evaluation.series(column))
        assert entry["hash"] == sha256_bytes(data)
