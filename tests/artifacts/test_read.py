"""open_bundle / list_runs: reading our bundles and the reference's (§16)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from tests.artifacts.factories import EXAMPLE_TEXT, example_evaluation, example_model, write_text

from flowtime.artifacts import list_runs, open_bundle, sha256_bytes, write_run
from flowtime.errors import FlowTimeError, NotFound, PathEscape

BOM = "\ufeff"


def written_run(root: Path) -> Path:
    return write_run(
        root,
        spec_text=EXAMPLE_TEXT,
        model=example_model(),
        evaluation=example_evaluation(),
        deterministic=True,
        now=datetime(2025, 11, 21, 9, 45, 1, 250000, tzinfo=UTC),
    ).run_dir


def reference_run(root: Path, run_id: str = "run_ref", **run_fields) -> Path:
    """A bundle as the reference writes it: BOM everywhere, CRLF, ``t,value``, aggregates/, formats."""
    run_dir = root / run_id
    served = BOM + "t,value\r\n0,1\r\n1,2.5\r\n2,1E+15\r\n3, NaN \r\n"
    arrivals = BOM + "T , Value\r\n\r\n0,3\r\n2,-Infinity\r\n1,"  # out of order, blank line, no final newline
    write_text(run_dir / "series/served@SERVED@DEFAULT.csv", served)
    write_text(run_dir / "series/arrivals@ARRIVALS@DEFAULT.csv", arrivals)
    index = {
        "schemaVersion": 1,
        "grid": {"bins": 4, "binSize": 5, "binUnit": "Minutes", "timezone": "UTC"},
        "series": [
            {
                "id": "served@SERVED@DEFAULT",
                "kind": "flow",
                "path": "series/served@SERVED@DEFAULT.csv",
                "unit": "entities/bin",
                "componentId": "SERVED",
                "class": "DEFAULT",
                "points": 4,
                "hash": sha256_bytes(served.encode()),
            },
            {"id": "arrivals@ARRIVALS@DEFAULT", "path": "series/arrivals@ARRIVALS@DEFAULT.csv"},
        ],
        "formats": {"aggregatesTable": {"path": "aggregates/node_time_bin.parquet"}},
    }
    write_text(run_dir / "series/index.json", BOM + json.dumps(index, indent=2).replace("\n", "\r\n"))
    run = {
        "schemaVersion": 1,
        "runId": run_id,
        "grid": {"bins": 4, "binSize": 5, "binUnit": "minutes"},
        "scenarioHash": "sha256:abc",
        "createdUtc": None,
        "warnings": [{"code": "old_warning", "message": "Something old."}, "plain text", {"message": "only"}],
        "series": [],
        "unknownKey": {"nested": True},
        **run_fields,
    }
    write_text(run_dir / "run.json", BOM + json.dumps(run))
    write_text(run_dir / "spec.yaml", BOM + "schemaVersion: 1\r\n")
    (run_dir / "aggregates").mkdir()
    return run_dir


# ------------------------------------------------------------------------------------ our own bundles


def test_open_written_bundle(tmp_path: Path) -> None:
    bundle = open_bundle(written_run(tmp_path))

    assert bundle.run_id == "run_deterministic_93753120"
    assert bundle.scenario_hash == "sha256:93753120601ba5cb7063ef3cb453830e13f94206dab2eb72825d11828a693054"
    assert bundle.model_hash is not None and bundle.model_hash.startswith("sha256:bb51c9ff")
    assert bundle.created_utc == datetime(2025, 11, 21, 9, 45, 1, 250000, tzinfo=UTC)
    assert (bundle.grid.bins, bundle.grid.bin_size, bundle.grid.bin_unit) == (4, 15, "minutes")
    assert [s.id for s in bundle.series] == ["handled@HANDLED@DEFAULT", "handle_rate@HANDLE_RATE@DEFAULT"]
    assert bundle.series[0].hash is not None and bundle.series[0].node == "handled"
    assert bundle.metadata is not None and bundle.metadata["templateId"] == "adhoc-model"
    assert bundle.manifest is not None and bundle.manifest["rng"] == {"kind": "pcg32", "seed": 123}
    assert bundle.provenance is None
    assert bundle.warnings == ()
    assert bundle.read_spec_text() == EXAMPLE_TEXT
    assert bundle.verify() == ()


def test_read_series_round_trips_bits(tmp_path: Path) -> None:
    bundle = open_bundle(written_run(tmp_path))

    rate = bundle.read_series("handle_rate@HANDLE_RATE@DEFAULT")
    assert rate.values.tobytes() == np.array([10 / 12, 10 / 15, 1.0, 0.0]).tobytes()
    assert rate.absent == ()


def test_series_lookup_by_node_prefix_and_bytes(tmp_path: Path) -> None:
    bundle = open_bundle(written_run(tmp_path))

    assert bundle.find_series("handled").id == "handled@HANDLED@DEFAULT"
    assert bundle.find_series("handle") is None
    assert bundle.series_bytes("handled") == b"bin_index,value\n0,10\n1,10\n2,9\n3,0\n"


def test_unknown_series_is_not_found(tmp_path: Path) -> None:
    bundle = open_bundle(written_run(tmp_path))

    with pytest.raises(NotFound) as caught:
        bundle.read_series("calls@CALLS@DEFAULT")
    assert caught.value.code == "series_not_found"
    assert caught.value.message == "Series 'calls@CALLS@DEFAULT' not found in run 'run_deterministic_93753120'."


def test_hash_mismatch_is_a_warning(tmp_path: Path) -> None:
    run_dir = written_run(tmp_path)
    (run_dir / "series/handled@HANDLED@DEFAULT.csv").write_bytes(b"bin_index,value\n0,11\n1,10\n2,9\n3,0\n")
    bundle = open_bundle(run_dir)

    problem = bundle.verify_series("handled@HANDLED@DEFAULT")
    assert problem is not None
    assert problem.code == "series_hash_mismatch" and problem.severity == "warning"
    assert "handled@HANDLED@DEFAULT" in problem.message
    assert [p.code for p in bundle.verify()] == ["series_hash_mismatch"]
    assert bundle.read_series("handled").values[0] == 11  # still readable


def test_manifest_hashes_back_up_a_catalogue_without_hashes(tmp_path: Path) -> None:
    run_dir = written_run(tmp_path)
    (run_dir / "series/index.json").unlink()
    (run_dir / "series/handled@HANDLED@DEFAULT.csv").write_bytes(b"bin_index,value\n0,0\n1,0\n2,0\n3,0\n")
    bundle = open_bundle(run_dir)

    assert [s.hash for s in bundle.series] == [None, None]  # from run.json
    assert [p.code for p in bundle.verify()] == ["series_hash_mismatch"]


def test_missing_and_corrupt_run(tmp_path: Path) -> None:
    with pytest.raises(NotFound) as caught:
        open_bundle(tmp_path / "nope")
    assert (caught.value.code, caught.value.message) == ("run_not_found", "Run 'nope' not found.")

    write_text(tmp_path / "broken" / "run.json", "{not json")
    with pytest.raises(FlowTimeError) as broken:
        open_bundle(tmp_path / "broken")
    assert (broken.value.code, broken.value.message) == ("run_unreadable", "Run 'broken' could not be read.")

    write_text(tmp_path / "listy" / "run.json", "[]")
    with pytest.raises(FlowTimeError, match="could not be read"):
        open_bundle(tmp_path / "listy")


# ------------------------------------------------------------------------------------ reference bundles


def test_reference_bundle_is_read(tmp_path: Path) -> None:
    bundle = open_bundle(reference_run(tmp_path))

    assert bundle.grid.bins == 4 and bundle.grid.bin_unit == "minutes"
    assert bundle.model_hash is None
    assert bundle.created_utc is None
    assert bundle.warnings == ("old_warning: Something old.", "plain text", "only")
    assert bundle.index is not None and "formats" in bundle.index
    assert bundle.read_spec_text() == "schemaVersion: 1\r\n"
    served = bundle.read_series("served@SERVED@DEFAULT")
    assert served.values[:3].tolist() == [1.0, 2.5, 1e15] and np.isnan(served.values[3])


def test_reference_series_without_final_newline_and_gaps(tmp_path: Path) -> None:
    arrivals = open_bundle(reference_run(tmp_path)).read_series("arrivals")

    assert arrivals.values[0] == 3 and arrivals.values[2] == -np.inf and np.isnan(arrivals.values[1])
    assert arrivals.values[3] == 0 and arrivals.absent == (3,)
    assert arrivals.empty == (1,)


def test_reference_hashes_include_the_bom(tmp_path: Path) -> None:
    assert open_bundle(reference_run(tmp_path)).verify() == ()


def test_series_file_fallback_without_catalogue_entry(tmp_path: Path) -> None:
    run_dir = reference_run(tmp_path)
    write_text(run_dir / "series/extra@EXTRA@DEFAULT.csv", "bin_index,value\n0,1\n1,1\n2,1\n3,1\n")

    bundle = open_bundle(run_dir)
    assert bundle.read_series("extra@EXTRA@DEFAULT").values.tolist() == [1, 1, 1, 1]
    assert bundle.find_series("../run") is None


@pytest.mark.parametrize("path", ["../outside.csv", "/etc/passwd", "series/../../outside.csv", "..\\outside.csv"])
def test_index_paths_leaving_the_run_are_rejected(tmp_path: Path, path: str) -> None:
    run_dir = written_run(tmp_path / "runs")
    write_text(tmp_path / "runs" / "outside.csv", "bin_index,value\n0,1\n")
    index = json.loads((run_dir / "series/index.json").read_text())
    index["series"][0]["path"] = path
    (run_dir / "series/index.json").write_text(json.dumps(index))

    with pytest.raises(PathEscape) as caught:
        open_bundle(run_dir).read_series("handled@HANDLED@DEFAULT")
    assert caught.value.code == "path_escape"
    assert "leaves the run directory" in caught.value.message


def test_symlinked_series_leaving_the_run_is_rejected(tmp_path: Path) -> None:
    run_dir = written_run(tmp_path / "runs")
    secret = write_text(tmp_path / "secret.csv", "bin_index,value\n0,1\n")
    target = run_dir / "series/handled@HANDLED@DEFAULT.csv"
    target.unlink()
    os.symlink(secret, target)

    with pytest.raises(PathEscape):
        open_bundle(run_dir).series_bytes("handled")


# ------------------------------------------------------------------------------------ listings


def _run(root: Path, run_id: str, created: object) -> None:
    write_text(root / run_id / "run.json", json.dumps({"runId": run_id, "createdUtc": created}))


def test_list_runs_order_and_filters(tmp_path: Path) -> None:
    _run(tmp_path, "b_old", "2025-01-01T00:00:00Z")
    _run(tmp_path, "a_new", "2025-06-01T00:00:00.1234567Z")
    _run(tmp_path, "c_new", "2025-06-01T00:00:00.123456+00:00")
    _run(tmp_path, "z_undated", None)
    _run(tmp_path, "y_bad_date", "yesterday")
    _run(tmp_path, ".tmp-a_new-0123456789abcdef", "2030-01-01T00:00:00Z")
    (tmp_path / "no_run_json" / "model").mkdir(parents=True)
    write_text(tmp_path / "file.txt", "x")
    write_text(tmp_path / "broken" / "run.json", "{")
    reference_run(tmp_path, "ref")

    listing = list_runs(tmp_path)

    assert [r.run_id for r in listing] == [
        "a_new",
        "c_new",
        "b_old",
        "broken",
        "ref",
        "y_bad_date",
        "z_undated",
    ]
    assert listing[0].created_utc == datetime(2025, 6, 1, 0, 0, 0, 123456, tzinfo=UTC)
    assert next(r for r in listing if r.run_id == "broken").run is None
    assert listing[0].run_dir == tmp_path / "a_new"


def test_list_runs_of_a_missing_root_is_empty(tmp_path: Path) -> None:
    assert list_runs(tmp_path / "missing") == []
