"""write_run: the §17 worked example byte for byte, the existing-target table, atomicity and locking."""

from __future__ import annotations

import ctypes
import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from tests.artifacts.factories import (
    EXAMPLE_TEXT,
    FakeEvaluation,
    evaluation_for,
    example_evaluation,
    example_model,
    write_text,
)

from flowtime.artifacts import (
    open_bundle,
    sha256_bytes,
    stage_run,
    write_run,
)
from flowtime.artifacts import write as write_module
from flowtime.errors import Conflict, InvalidInput, Problem, WriteFailed

NOW = datetime(2025, 11, 21, 9, 45, 1, 250000, tzinfo=UTC)
SCENARIO = "sha256:93753120601ba5cb7063ef3cb453830e13f94206dab2eb72825d11828a693054"
MODEL_HASH = "sha256:bb51c9ffe4be1c4b495314930630cb693c9ddafee04b58e340c05f0822dd7d90"

INDEX_JSON = """\
{
  "schemaVersion": 1,
  "grid": {
    "bins": 4,
    "binSize": 15,
    "binUnit": "minutes",
    "timezone": "UTC"
  },
  "series": [
    {
      "id": "handled@HANDLED@DEFAULT",
      "kind": "flow",
      "path": "series/handled@HANDLED@DEFAULT.csv",
      "unit": "entities/bin",
      "componentId": "HANDLED",
      "class": "DEFAULT",
      "points": 4,
      "hash": "sha256:15d44c8c71b8312b0d3dece415dd29287148c13ac01247cd52519f4058f1808e"
    },
    {
      "id": "handle_rate@HANDLE_RATE@DEFAULT",
      "kind": "flow",
      "path": "series/handle_rate@HANDLE_RATE@DEFAULT.csv",
      "unit": "entities/bin",
      "componentId": "HANDLE_RATE",
      "class": "DEFAULT",
      "points": 4,
      "hash": "sha256:db6a720501b0d7bf2da48d2a0e791f1b3d13d537bf8fbb78848213c29156c5c7"
    }
  ]
}
"""

RUN_JSON = """\
{
  "schemaVersion": 1,
  "runId": "run_deterministic_93753120",
  "engineVersion": "0.1.0",
  "source": "engine",
  "grid": {
    "bins": 4,
    "binSize": 15,
    "binUnit": "minutes",
    "timezone": "UTC",
    "align": "left"
  },
  "modelHash": "sha256:bb51c9ffe4be1c4b495314930630cb693c9ddafee04b58e340c05f0822dd7d90",
  "scenarioHash": "sha256:93753120601ba5cb7063ef3cb453830e13f94206dab2eb72825d11828a693054",
  "createdUtc": "2025-11-21T09:45:01.250000Z",
  "warnings": [],
  "series": [
    {
      "id": "handled@HANDLED@DEFAULT",
      "path": "series/handled@HANDLED@DEFAULT.csv",
      "unit": "entities/bin"
    },
    {
      "id": "handle_rate@HANDLE_RATE@DEFAULT",
      "path": "series/handle_rate@HANDLE_RATE@DEFAULT.csv",
      "unit": "entities/bin"
    }
  ]
}
"""


def write_example(root: Path, **options):
    options.setdefault("now", NOW)
    seed = options.get("caller_seed")
    model = options.pop("model", None) or example_model()
    return write_run(
        root,
        spec_text=options.pop("spec_text", EXAMPLE_TEXT),
        model=model,
        evaluation=example_evaluation(model, seed=seed if seed is not None else 123),
        **options,
    )


def tree(run_dir: Path) -> dict[str, bytes]:
    return {p.relative_to(run_dir).as_posix(): p.read_bytes() for p in sorted(run_dir.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------------------ worked example


def test_worked_example_run_directory_and_hashes(tmp_path: Path) -> None:
    written = write_example(tmp_path, deterministic=True)

    assert written.run_id == "run_deterministic_93753120"
    assert written.run_dir == tmp_path / "run_deterministic_93753120"
    assert written.scenario_hash == SCENARIO
    assert written.model_hash == MODEL_HASH
    assert written.series_ids == ("handled@HANDLED@DEFAULT", "handle_rate@HANDLE_RATE@DEFAULT")
    assert written.warnings == ()
    assert sorted(tree(written.run_dir)) == [
        "manifest.json",
        "model/metadata.json",
        "model/model.yaml",
        "run.json",
        "series/handle_rate@HANDLE_RATE@DEFAULT.csv",
        "series/handled@HANDLED@DEFAULT.csv",
        "series/index.json",
        "spec.yaml",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".locks", "run_deterministic_93753120"]


def test_worked_example_file_bytes(tmp_path: Path) -> None:
    files = tree(write_example(tmp_path, deterministic=True).run_dir)

    assert files["spec.yaml"] == EXAMPLE_TEXT.encode() and len(files["spec.yaml"]) == 304
    assert files["model/model.yaml"] == files["spec.yaml"]
    assert sha256_bytes(files["model/model.yaml"]) == MODEL_HASH
    assert files["series/handled@HANDLED@DEFAULT.csv"] == b"bin_index,value\n0,10\n1,10\n2,9\n3,0\n"
    assert files["series/handle_rate@HANDLE_RATE@DEFAULT.csv"] == (
        b"bin_index,value\n0,0.8333333333333334\n1,0.6666666666666666\n2,1\n3,0\n"
    )
    assert files["series/index.json"] == INDEX_JSON.encode()
    assert len(files["series/index.json"]) == 804
    assert sha256_bytes(files["series/index.json"]) == (
        "sha256:d539ef1b8348bbc2b503300b8692fe98611a56892fa05f7fe6298a0c171f80ea"
    )
    assert files["run.json"] == RUN_JSON.encode()


def test_worked_example_manifest_and_metadata(tmp_path: Path) -> None:
    run_dir = write_example(tmp_path, deterministic=True).run_dir

    manifest = (run_dir / "manifest.json").read_text()
    assert manifest == (
        "{\n"
        '  "schemaVersion": 1,\n'
        f'  "scenarioHash": "{SCENARIO}",\n'
        '  "rng": {\n    "kind": "pcg32",\n    "seed": 123\n  },\n'
        '  "seriesHashes": {\n'
        '    "handled@HANDLED@DEFAULT": '
        '"sha256:15d44c8c71b8312b0d3dece415dd29287148c13ac01247cd52519f4058f1808e",\n'
        '    "handle_rate@HANDLE_RATE@DEFAULT": '
        '"sha256:db6a720501b0d7bf2da48d2a0e791f1b3d13d537bf8fbb78848213c29156c5c7"\n'
        "  },\n"
        '  "eventCount": 0,\n'
        '  "createdUtc": "2025-11-21T09:45:01.250000Z",\n'
        f'  "modelHash": "{MODEL_HASH}"\n'
        "}\n"
    )
    metadata = json.loads((run_dir / "model/metadata.json").read_text())
    assert metadata == {
        "schemaVersion": 1,
        "templateId": "adhoc-model",
        "templateTitle": "adhoc-model",
        "templateVersion": "0.0.0",
        "mode": "simulation",
        "modelHash": MODEL_HASH,
        "source": None,
        "generator": None,
        "modelId": None,
        "generatedAtUtc": None,
        "receivedAtUtc": "2025-11-21T09:45:01.250000Z",
        "parameters": {},
        "rng": {"kind": "pcg32", "seed": 123},
    }
    assert list(metadata) == [
        "schemaVersion",
        "templateId",
        "templateTitle",
        "templateVersion",
        "mode",
        "modelHash",
        "source",
        "generator",
        "modelId",
        "generatedAtUtc",
        "receivedAtUtc",
        "parameters",
        "rng",
    ]


def test_caller_seed_changes_scenario_and_run_id(tmp_path: Path) -> None:
    written = write_example(tmp_path, deterministic=True, caller_seed=7)

    assert written.scenario_hash == "sha256:cb10dfbb24be577d4de2bbaa5f4c1214b27509e2de12ef721b33b9136ead2bbf"
    assert written.run_id == "run_deterministic_cb10dfbb"
    manifest = json.loads((written.run_dir / "manifest.json").read_text())
    assert manifest["rng"] == {"kind": "pcg32", "seed": 7}


def test_model_rng_seed_is_recorded_without_caller_seed(tmp_path: Path) -> None:
    model = example_model(rng_seed=42)
    written = write_run(
        tmp_path, spec_text=EXAMPLE_TEXT, model=model, evaluation=example_evaluation(model, seed=42), now=NOW
    )

    assert json.loads((written.run_dir / "manifest.json").read_text())["rng"]["seed"] == 42
    assert json.loads((written.run_dir / "model/metadata.json").read_text())["rng"]["seed"] == 42


def test_evaluation_with_another_seed_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="evaluation used seed 5 but the run records seed 7"):
        write_run(
            tmp_path,
            spec_text=EXAMPLE_TEXT,
            model=example_model(),
            evaluation=example_evaluation(seed=5),
            caller_seed=7,
        )
    assert list(tmp_path.iterdir()) == []


def test_rerun_is_byte_identical_except_timestamps(tmp_path: Path) -> None:
    first = tree(write_example(tmp_path / "a", deterministic=True).run_dir)
    later = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    second = tree(write_example(tmp_path / "b", deterministic=True, now=later).run_dir)

    assert first.keys() == second.keys()
    differing = sorted(name for name in first if first[name] != second[name])
    assert differing == ["manifest.json", "model/metadata.json", "run.json"]
    for name in differing:
        assert first[name].replace(b"2025-11-21T09:45:01.250000Z", b"2026-01-02T03:04:05.678901Z") == second[name]


def test_spec_text_is_normalised_before_hashing(tmp_path: Path) -> None:
    received = "\ufeff" + EXAMPLE_TEXT.replace("\n", "\r\n") + "\r\n\r\n"
    written = write_example(tmp_path, deterministic=True, spec_text=received)

    assert written.scenario_hash == SCENARIO
    assert (written.run_dir / "spec.yaml").read_bytes() == EXAMPLE_TEXT.encode()


def test_random_run_id_format(tmp_path: Path) -> None:
    written = write_example(tmp_path)

    assert written.run_id.startswith("run_20251121T094501Z_")
    assert len(written.run_id) == len("run_20251121T094501Z_") + 8
    assert json.loads((written.run_dir / "run.json").read_text())["runId"] == written.run_id


def test_explicit_run_id_wins_over_deterministic(tmp_path: Path) -> None:
    written = write_example(tmp_path, run_id="my-run.1", deterministic=True)

    assert written.run_id == "my-run.1"
    assert (tmp_path / "my-run.1" / "run.json").is_file()


def test_invalid_explicit_run_id_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        write_example(tmp_path, run_id="../escape")

    assert caught.value.code == "invalid_run_id"
    assert caught.value.message == "runId '../escape' is invalid."
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------ warnings, provenance

PROVENANCE_TEXT = EXAMPLE_TEXT + (
    "provenance:\n"
    "  source: flowtime-sim\n"
    "  generator: flowtime-sim/0.1.0\n"
    "  generatedAt: 2026-03-02T08:20:03.771045Z\n"
    "  modelId: model_abc\n"
    "  templateId: http-service\n"
    "  parameters:\n"
    "    bins: 4\n"
    "    rate: 1.5\n"
)
EMBEDDED = {
    "source": "flowtime-sim",
    "generator": "flowtime-sim/0.1.0",
    "generatedAt": "2026-03-02T08:20:03.771045Z",
    "modelId": "model_abc",
    "templateId": "http-service",
    "parameters": {"bins": 4, "rate": 1.5},
}


def test_embedded_provenance_is_stripped_and_recorded(tmp_path: Path) -> None:
    model = example_model(provenance=EMBEDDED)
    written = write_example(tmp_path, deterministic=True, model=model, spec_text=PROVENANCE_TEXT)

    assert written.scenario_hash == SCENARIO  # provenance never affects any hash
    run_dir = written.run_dir
    assert (run_dir / "spec.yaml").read_text() == EXAMPLE_TEXT
    provenance = json.loads((run_dir / "model/provenance.json").read_text())
    assert list(provenance) == [
        "source",
        "modelId",
        "templateId",
        "templateVersion",
        "templateTitle",
        "generatedAt",
        "receivedAt",
        "generator",
        "parameters",
        "links",
    ]
    assert provenance["modelId"] == "model_abc"
    assert provenance["generatedAt"] == "2026-03-02T08:20:03.771045Z"
    assert provenance["receivedAt"] == "2025-11-21T09:45:01.250000Z"
    assert provenance["parameters"] == {"bins": 4, "rate": 1.5}
    assert provenance["templateVersion"] is None and provenance["links"] is None
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert list(manifest)[-1] == "provenance"
    assert manifest["provenance"] == {
        "hasProvenance": True,
        "modelId": "model_abc",
        "templateId": "http-service",
    }
    metadata = json.loads((run_dir / "model/metadata.json").read_text())
    assert metadata["templateId"] == "http-service"
    assert metadata["templateTitle"] == "http-service"
    assert metadata["source"] == "flowtime-sim"
    assert metadata["modelId"] == "model_abc"
    assert metadata["generatedAtUtc"] == "2026-03-02T08:20:03.771045Z"
    assert metadata["parameters"] == {"bins": 4, "rate": 1.5}
    assert "1.5" in (run_dir / "model/metadata.json").read_text()


def test_header_provenance_overrides_embedded_block(tmp_path: Path) -> None:
    model = example_model(provenance=EMBEDDED)
    written = write_example(
        tmp_path,
        model=model,
        spec_text=PROVENANCE_TEXT,
        provenance='{"modelId": "from-header", "templateId": "t1"}',
        provenance_from_header=True,
        received_at=datetime(2025, 11, 21, 9, 45, tzinfo=UTC),
    )

    provenance = json.loads((written.run_dir / "model/provenance.json").read_text())
    assert provenance["modelId"] == "from-header"
    assert provenance["source"] is None
    assert provenance["receivedAt"] == "2025-11-21T09:45:00.000000Z"
    run = json.loads((written.run_dir / "run.json").read_text())
    assert run["warnings"] == ["provenance_header_override: Provenance header overrides the embedded provenance block."]
    assert [w.code for w in written.warnings] == ["provenance_header_override"]


def test_bare_header_string_is_the_model_id(tmp_path: Path) -> None:
    written = write_example(tmp_path, provenance="  model-42 ", provenance_from_header=True)

    provenance = json.loads((written.run_dir / "model/provenance.json").read_text())
    assert provenance["modelId"] == "model-42"
    assert json.loads((written.run_dir / "run.json").read_text())["warnings"] == []


def test_provenance_without_model_id_is_ignored_with_warning(tmp_path: Path) -> None:
    written = write_example(tmp_path, provenance={"source": "somewhere"})

    assert not (written.run_dir / "model/provenance.json").exists()
    assert "provenance" not in json.loads((written.run_dir / "manifest.json").read_text())
    assert json.loads((written.run_dir / "run.json").read_text())["warnings"] == [
        "provenance_ignored: Provenance without modelId was ignored."
    ]


def test_model_and_caller_warnings_are_listed_once_in_order(tmp_path: Path) -> None:
    unknown = Problem("unknown_key", "Unknown key 'foo' at root was ignored", "warning", path="foo")
    model = example_model(warnings=(unknown, unknown))
    extra = Problem("telemetry_conflict", "Files disagree.", "warning")
    written = write_example(tmp_path, model=model, warnings=[extra, unknown])

    assert json.loads((written.run_dir / "run.json").read_text())["warnings"] == [
        "unknown_key: Unknown key 'foo' at root was ignored",
        "telemetry_conflict: Files disagree.",
    ]
    assert written.warnings == (unknown, extra)


def test_unstrippable_provenance_is_kept_with_warning(tmp_path: Path) -> None:
    text = EXAMPLE_TEXT + 'provenance: {modelId: m1}\n"provenance": {modelId: m2}\n'
    written = write_example(tmp_path, spec_text=text, model=example_model(provenance={"modelId": "m1"}))

    assert (written.run_dir / "spec.yaml").read_text() == text
    assert json.loads((written.run_dir / "run.json").read_text())["warnings"] == [
        "provenance_not_stripped: Provenance block could not be removed from the model text; it was kept."
    ]


def test_forced_mode_and_replaced_nodes_in_metadata(tmp_path: Path) -> None:
    model = example_model(metadata={"id": "support-desk", "title": "Support Desk", "version": 1.10})
    spec = EXAMPLE_TEXT + "metadata:\n  id: support-desk\n  title: Support Desk\n  version: 1.10\n"
    written = write_example(
        tmp_path,
        model=model,
        spec_text=spec,
        forced_mode="Telemetry",
        replaced_nodes={"calls": {"id": "calls", "kind": "const", "values": [1, 2.5]}},
    )

    metadata = json.loads((written.run_dir / "model/metadata.json").read_text())
    assert metadata["templateId"] == "support-desk"
    assert metadata["templateTitle"] == "Support Desk"
    assert metadata["templateVersion"] == "1.10"
    assert metadata["mode"] == "telemetry"
    assert list(metadata)[-1] == "replacedNodes"
    assert metadata["replacedNodes"] == {"calls": {"id": "calls", "kind": "const", "values": [1, 2.5]}}


# ------------------------------------------------------------------------------------ model files


def test_extra_and_default_model_files_are_written(tmp_path: Path) -> None:
    written = write_example(
        tmp_path,
        extra_model_files={"telemetry/calls.csv": b"bin_index,value\n0,1\n"},
        default_model_files={"telemetry/telemetry-manifest.json": b"{}\n"},
    )

    assert (written.run_dir / "model/telemetry/calls.csv").read_bytes() == b"bin_index,value\n0,1\n"
    assert (written.run_dir / "model/telemetry/telemetry-manifest.json").read_bytes() == b"{}\n"


@pytest.mark.parametrize("name", ["../run.json", "/etc/passwd", "model.yaml", "metadata.json", ""])
def test_model_files_outside_model_or_reserved_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="not a file name the writer may add"):
        write_example(tmp_path, extra_model_files={name: b"x"})
    assert list(tmp_path.iterdir()) == []


def test_stage_run_exposes_model_dir_before_commit(tmp_path: Path) -> None:
    with stage_run(tmp_path, spec_text=EXAMPLE_TEXT, deterministic=True, now=NOW) as staging:
        assert staging.run_id == "run_deterministic_93753120"
        assert staging.scenario_hash == SCENARIO
        assert staging.model_hash == MODEL_HASH
        assert staging.path.parent == tmp_path and staging.path.name.startswith(".tmp-run_deterministic_93753120-")
        staged = staging.add_model_file("telemetry/calls.csv", b"bin_index,value\n")
        assert staged == staging.model_dir / "telemetry" / "calls.csv" and staged.is_file()
        written = staging.commit(model=example_model(), evaluation=example_evaluation())

    assert (written.run_dir / "model/telemetry/calls.csv").is_file()
    assert not staging.path.exists()


def test_stage_run_without_commit_leaves_nothing(tmp_path: Path) -> None:
    with stage_run(tmp_path, spec_text=EXAMPLE_TEXT, deterministic=True) as staging:
        staging.add_model_file("telemetry/a.csv", b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------ existing targets


def _add_telemetry(run_dir: Path, name: str = "telemetry-manifest.json", data: bytes = b"old\n") -> None:
    write_text(run_dir / "model" / "telemetry" / name, data)


def test_deterministic_rerun_replaces_and_preserves_telemetry(tmp_path: Path) -> None:
    first = write_example(tmp_path, deterministic=True)
    _add_telemetry(first.run_dir)
    later = datetime(2026, 1, 1, tzinfo=UTC)
    second = write_example(tmp_path, deterministic=True, now=later)

    assert second.run_dir == first.run_dir
    assert (second.run_dir / "model/telemetry/telemetry-manifest.json").read_bytes() == b"old\n"
    assert json.loads((second.run_dir / "run.json").read_text())["createdUtc"] == "2026-01-01T00:00:00.000000Z"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".locks", "run_deterministic_93753120"]


def test_preserved_telemetry_wins_over_default_files(tmp_path: Path) -> None:
    first = write_example(tmp_path, deterministic=True)
    _add_telemetry(first.run_dir)
    write_example(
        tmp_path,
        deterministic=True,
        default_model_files={
            "telemetry/telemetry-manifest.json": b"new\n",
            "telemetry/autocapture.json": b"{}\n",
        },
    )

    assert (first.run_dir / "model/telemetry/telemetry-manifest.json").read_bytes() == b"old\n"
    assert (first.run_dir / "model/telemetry/autocapture.json").read_bytes() == b"{}\n"


def test_new_run_with_own_telemetry_does_not_inherit_old(tmp_path: Path) -> None:
    first = write_example(tmp_path, deterministic=True)
    _add_telemetry(first.run_dir, "old.csv")
    write_example(tmp_path, deterministic=True, extra_model_files={"telemetry/new.csv": b"n\n"})

    assert sorted(p.name for p in (first.run_dir / "model/telemetry").iterdir()) == ["new.csv"]


def _forge_scenario(run_dir: Path, scenario: str) -> None:
    run = json.loads((run_dir / "run.json").read_text())
    run["scenarioHash"] = scenario
    (run_dir / "run.json").write_text(json.dumps(run))


def test_deterministic_collision_is_refused(tmp_path: Path) -> None:
    first = write_example(tmp_path, deterministic=True)
    _forge_scenario(first.run_dir, "sha256:93753120" + "0" * 56)
    before = tree(first.run_dir)

    with pytest.raises(Conflict) as caught:
        write_example(tmp_path, deterministic=True)

    assert caught.value.code == "run_id_collision"
    assert "run_deterministic_93753120" in caught.value.message
    assert tree(first.run_dir) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".locks", "run_deterministic_93753120"]


def test_deterministic_collision_with_overwrite_replaces_without_telemetry(tmp_path: Path) -> None:
    first = write_example(tmp_path, deterministic=True)
    _forge_scenario(first.run_dir, "sha256:93753120" + "0" * 56)
    _add_telemetry(first.run_dir)

    written = write_example(tmp_path, deterministic=True, overwrite=True)

    assert json.loads((written.run_dir / "run.json").read_text())["scenarioHash"] == SCENARIO
    assert not (written.run_dir / "model/telemetry").exists()


def test_explicit_existing_run_id_is_refused(tmp_path: Path) -> None:
    write_example(tmp_path, run_id="nightly")

    with pytest.raises(Conflict) as caught:
        write_example(tmp_path, run_id="nightly")

    assert caught.value.code == "run_exists"
    assert caught.value.message == "Run directory 'nightly' already exists. Enable Overwrite to replace it."
    assert sorted(p.name for p in tmp_path.iterdir()) == [".locks", "nightly"]


def test_explicit_existing_run_id_with_overwrite_replaces_without_telemetry(tmp_path: Path) -> None:
    first = write_example(tmp_path, run_id="nightly")
    _add_telemetry(first.run_dir)
    write_text(first.run_dir / "stray.txt", "x")

    second = write_example(tmp_path, run_id="nightly", overwrite=True, caller_seed=7)

    assert json.loads((second.run_dir / "run.json").read_text())["scenarioHash"].startswith("sha256:cb10dfbb")
    assert not (second.run_dir / "model/telemetry").exists()
    assert not (second.run_dir / "stray.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".locks", "nightly"]


def test_random_id_that_exists_draws_a_new_suffix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    suffixes = iter(["aaaaaaaa", "aaaaaaaa", "bbbbbbbb"])
    monkeypatch.setattr(write_module, "random_run_id", lambda now: f"run_20251121T094501Z_{next(suffixes)}")
    first = write_example(tmp_path)
    second = write_example(tmp_path)

    assert first.run_id == "run_20251121T094501Z_aaaaaaaa"
    assert second.run_id == "run_20251121T094501Z_bbbbbbbb"
    assert json.loads((second.run_dir / "run.json").read_text())["runId"] == second.run_id


def test_random_id_taken_during_staging_is_redrawn_at_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    suffixes = iter(["aaaaaaaa", "cccccccc"])
    monkeypatch.setattr(write_module, "random_run_id", lambda now: f"run_20251121T094501Z_{next(suffixes)}")
    with stage_run(tmp_path, spec_text=EXAMPLE_TEXT, now=NOW) as staging:
        assert staging.run_id == "run_20251121T094501Z_aaaaaaaa"
        write_text(tmp_path / staging.run_id / "run.json", "{}")  # another writer got there first
        written = staging.commit(model=example_model(), evaluation=example_evaluation())

    assert written.run_id == "run_20251121T094501Z_cccccccc"
    assert json.loads((written.run_dir / "run.json").read_text())["runId"] == written.run_id
    assert (tmp_path / "run_20251121T094501Z_aaaaaaaa" / "run.json").read_text() == "{}"


# ----------------------------------------------------------------------------------- durability

LINUX_FDS = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")


def _fd_path(fd: int) -> str:
    return os.readlink(f"/proc/self/fd/{fd}")


@LINUX_FDS
def test_staged_run_is_made_durable_by_one_syncfs_before_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if write_module._syncfs is None:
        pytest.skip("syncfs is Linux-only")
    events: list[tuple[str, str]] = []
    real_syncfs, real_fsync, real_rename = write_module._syncfs, os.fsync, os.rename

    def syncfs(fd: int) -> int:
        events.append(("syncfs", _fd_path(fd)))
        return real_syncfs(fd)

    def fsync(fd: int) -> None:
        events.append(("fsync", _fd_path(fd)))
        real_fsync(fd)

    def rename(src: str, dst: str) -> None:
        events.append(("rename", str(dst)))
        real_rename(src, dst)

    monkeypatch.setattr(write_module, "_syncfs", syncfs)
    monkeypatch.setattr(write_module.os, "fsync", fsync)
    monkeypatch.setattr(write_module.os, "rename", rename)
    written = write_example(tmp_path, deterministic=True)

    assert [kind for kind, _ in events] == ["syncfs", "rename", "fsync"]
    assert Path(events[0][1]).parent == tmp_path and Path(events[0][1]).name.startswith(".tmp-")
    assert events[1][1] == str(written.run_dir)
    assert events[2][1] == str(tmp_path)  # the rename itself is made durable


@LINUX_FDS
def test_without_syncfs_every_staged_file_and_directory_is_fsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(_fd_path(fd))
        real_fsync(fd)

    monkeypatch.setattr(write_module, "_syncfs", None)
    monkeypatch.setattr(write_module.os, "fsync", fsync)
    written = write_example(tmp_path, deterministic=True)

    staging = Path(synced[0]).relative_to(tmp_path).parts[0]
    assert staging.startswith(".tmp-")
    inside = {Path(p).relative_to(tmp_path / staging).as_posix() for p in synced if staging in p}
    files = set(tree(written.run_dir))
    assert files <= inside  # every file of the run
    assert {".", "series", "model"} <= inside  # and every directory
    assert synced[-1] == str(tmp_path)


def test_failed_syncfs_is_a_write_failure_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(fd: int) -> int:
        ctypes.set_errno(5)
        return -1

    monkeypatch.setattr(write_module, "_syncfs", failing)
    with pytest.raises(WriteFailed) as caught:
        write_example(tmp_path, deterministic=True)
    assert caught.value.message == "Run 'run_deterministic_93753120' could not be written: Input/output error."
    assert [p.name for p in tmp_path.iterdir() if p.name != ".locks"] == []  # no run, no staging directory


# ------------------------------------------------------------------------------------ atomicity


def test_failure_while_writing_series_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def failing(paths, block, **_):  # the disk fills up after the first series file
        Path(paths[0]).write_bytes(b"bin_index,value\n")
        calls.append(1)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(write_module, "write_series_csvs", failing)

    with pytest.raises(WriteFailed) as caught:
        write_example(tmp_path, deterministic=True)

    assert caught.value.code == "write_failed"
    assert caught.value.message == "Run 'run_deterministic_93753120' could not be written: No space left on device."
    assert str(tmp_path) not in caught.value.message
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_failure_while_streaming_a_long_series_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def failing(stream, values, **_):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        stream.write(b"bin_index,value\n")
        return "sha256:" + "0" * 64

    monkeypatch.setattr(write_module, "SHORT_SERIES_BINS", 0)  # every series takes the streaming path
    monkeypatch.setattr(write_module, "write_series_csv", failing)

    with pytest.raises(WriteFailed) as caught:
        write_example(tmp_path, deterministic=True)

    assert len(calls) == 2
    assert caught.value.message == "Run 'run_deterministic_93753120' could not be written: No space left on device."
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_short_and_long_series_paths_write_the_same_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    short = write_example(tmp_path / "short", deterministic=True)
    monkeypatch.setattr(write_module, "SHORT_SERIES_BINS", 0)
    long = write_example(tmp_path / "long", deterministic=True)
    assert tree(short.run_dir) == tree(long.run_dir)


def test_failure_during_replace_keeps_the_old_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = write_example(tmp_path, deterministic=True)
    _add_telemetry(first.run_dir)
    before = tree(first.run_dir)
    real_rename = write_module.os.rename

    def rename(src, dst):
        if Path(src).name.startswith(".tmp-"):
            raise OSError(5, "Input/output error")
        return real_rename(src, dst)

    monkeypatch.setattr(write_module.os, "rename", rename)

    with pytest.raises(WriteFailed, match="Input/output error"):
        write_example(tmp_path, deterministic=True, now=datetime(2026, 1, 1, tzinfo=UTC))

    assert tree(first.run_dir) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".locks", "run_deterministic_93753120"]


def test_failure_writing_run_json_leaves_no_temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = write_module._write_json

    def failing(path, document):
        if path.name == "run.json":
            raise OSError(13, "Permission denied")
        real(path, document)

    monkeypatch.setattr(write_module, "_write_json", failing)

    with pytest.raises(WriteFailed, match="Permission denied"):
        write_example(tmp_path, run_id="r1")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".locks"]


def test_series_are_streamed_one_by_one(tmp_path: Path) -> None:
    model = example_model()
    evaluation = example_evaluation(model)
    write_run(tmp_path, spec_text=EXAMPLE_TEXT, model=model, evaluation=evaluation)

    assert evaluation.calls == ["handled", "handle_rate"]


# ------------------------------------------------------------------------------------ concurrency


def test_concurrent_identical_deterministic_writes_leave_one_valid_run(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(20)

    def writer() -> None:
        try:
            barrier.wait()
            write_example(tmp_path, deterministic=True)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [".locks", "run_deterministic_93753120"]
    bundle = open_bundle(tmp_path / "run_deterministic_93753120")
    assert bundle.verify() == ()
    assert (bundle.run_dir / "series/index.json").read_text() == INDEX_JSON
    np.testing.assert_array_equal(bundle.read_series("handled@HANDLED@DEFAULT").values, [10, 10, 9, 0])


def test_concurrent_writes_keep_telemetry_of_the_first(tmp_path: Path) -> None:
    first = write_example(tmp_path, deterministic=True)
    _add_telemetry(first.run_dir)
    threads = [
        threading.Thread(target=write_example, args=(tmp_path,), kwargs={"deterministic": True}) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert (first.run_dir / "model/telemetry/telemetry-manifest.json").read_bytes() == b"old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".locks", "run_deterministic_93753120"]


# ------------------------------------------------------------------------------------ housekeeping


def test_remove_stale_staging_deletes_only_old_dot_dirs(tmp_path: Path) -> None:
    import os
    import time

    from flowtime.artifacts import remove_stale_staging

    for name in (
        ".tmp-run_a-0123456789abcdef",
        ".old-run_b-0123456789abcdef",
        ".tmp-fresh-1",
        ".locks",
        "run_c",
    ):
        (tmp_path / name).mkdir()
    two_hours_ago = time.time() - 7200
    for name in (".tmp-run_a-0123456789abcdef", ".old-run_b-0123456789abcdef", ".locks", "run_c"):
        os.utime(tmp_path / name, (two_hours_ago, two_hours_ago))

    removed = remove_stale_staging(tmp_path)

    assert removed == [".old-run_b-0123456789abcdef", ".tmp-run_a-0123456789abcdef"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".locks", ".tmp-fresh-1", "run_c"]


def test_series_of_the_wrong_length_is_a_bug_not_a_run(tmp_path: Path) -> None:
    model = example_model()
    evaluation = evaluation_for(model, {"handled": [1.0, 2.0, 3.0, 4.0]})
    short = FakeEvaluation(grid=model.grid, order=model.order, values=evaluation.values[:, :3])

    with pytest.raises(ValueError, match=r"series 'handled' has shape \(3,\); the grid has 4 bins"):
        write_run(tmp_path, spec_text=EXAMPLE_TEXT, model=model, evaluation=short)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_staging_run_commits_once(tmp_path: Path) -> None:
    with stage_run(tmp_path, spec_text=EXAMPLE_TEXT, run_id="once") as staging:
        staging.commit(model=example_model(), evaluation=example_evaluation())
        with pytest.raises(RuntimeError, match="already committed"):
            staging.commit(model=example_model(), evaluation=example_evaluation())
    assert (tmp_path / "once" / "run.json").is_file()
