"""Same model + same seed ⇒ byte-identical series files, index, spec and model (artifacts.md §15)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowtime.runs import execute_model

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
IDENTICAL = ("series", "spec.yaml", "model/model.yaml")


def _files(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in sorted(run_dir.rglob("*")) if p.is_file()}


def _run(root: Path, name: str, seed: int | None, **kwargs: object) -> Path:
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    return execute_model(text, runs_root=root, model_dir=EXAMPLES, seed=seed, **kwargs).run_dir  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["hello.yaml", "pipeline.yaml", "pmf.yaml"])
def test_two_runs_write_identical_bytes(tmp_path: Path, name: str) -> None:
    first = _files(_run(tmp_path / "a", name, seed=7))
    second = _files(_run(tmp_path / "b", name, seed=7))
    assert first.keys() == second.keys()
    same = [k for k in first if k.startswith(IDENTICAL)]
    assert "series/index.json" in same and len(same) >= 4
    for key in same:
        assert first[key] == second[key], key
    run_a, run_b = json.loads(first["run.json"]), json.loads(second["run.json"])
    differing = {k for k in run_a if run_a[k] != run_b[k]}
    assert differing <= {"runId", "createdUtc"}
    manifest_a, manifest_b = json.loads(first["manifest.json"]), json.loads(second["manifest.json"])
    assert {k for k in manifest_a if manifest_a[k] != manifest_b[k]} <= {"createdUtc"}


def test_deterministic_rerun_keeps_the_run_id_and_bytes(tmp_path: Path) -> None:
    first_dir = _run(tmp_path, "pmf.yaml", seed=11, deterministic=True)
    first = _files(first_dir)
    second_dir = _run(tmp_path, "pmf.yaml", seed=11, deterministic=True)
    assert second_dir == first_dir
    second = _files(second_dir)
    for key in first:
        if key.startswith(IDENTICAL):
            assert first[key] == second[key], key


def test_another_seed_samples_differently(tmp_path: Path) -> None:
    csv = "series/batch_size@BATCH_SIZE@DEFAULT.csv"
    one = _files(_run(tmp_path / "a", "pmf.yaml", seed=1))[csv]
    other = _files(_run(tmp_path / "b", "pmf.yaml", seed=2))[csv]
    assert one != other
    assert json.loads(_files(_run(tmp_path / "c", "pmf.yaml", seed=2))["manifest.json"])["rng"] == {
        "kind": "pcg32",
        "seed": 2,
    }
