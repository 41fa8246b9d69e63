"""Time-travel state of stored runs: series resolution, derived metrics, warnings and the §6 error order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.api.factories import SERVICE_MODEL, csv_text, telemetry_manifest, write_run_dir

from flowtime.errors import FlowTimeError
from flowtime.runs.state import load_run_state
from flowtime.runs.timetravel import snapshot, window

TELEMETRY_MODEL = """\
schemaVersion: 1
mode: telemetry
grid: {bins: 4, binSize: 5, binUnit: minutes}
window: {start: "2026-03-02T08:00:00+00:00"}
topology:
  nodes:
    - id: Checkout
      semantics:
        arrivals: file://telemetry/Checkout_arrivals.csv
        served: file://telemetry/Checkout_served.csv
        errors: file://telemetry/Checkout_errors.csv
        capacity: file://telemetry/missing.csv
"""


def load(root: Path, run_id: str) -> Any:
    return load_run_state(root / run_id, run_id, allowed_roots=[root])


def test_snapshot_of_a_simulation_run_reports_metrics_and_derived_values(tmp_path: Path) -> None:
    write_run_dir(tmp_path, "sim")
    body = snapshot(load(tmp_path, "sim"), 1)
    assert body["bin"] == {
        "index": 1,
        "startUtc": "2026-03-02T08:05:00Z",
        "endUtc": "2026-03-02T08:10:00Z",
        "durationMinutes": 5,
    }
    checkout, queue = body["nodes"]
    assert checkout["id"] == "Checkout" and checkout["kind"] == "service"
    assert checkout["metrics"] == {
        "arrivals": 20,
        "served": 15,
        "errors": None,
        "queue": None,
        "capacity": 25,
        "externalDemand": None,
    }
    assert checkout["derived"] == {
        "utilization": 0.6,
        "latencyMinutes": None,
        "throughputRatio": 0.75,
        "color": "green",
    }
    assert checkout["telemetry"] == {
        "sources": [
            "series:arrivals@ARRIVALS@DEFAULT",
            "series:served@SERVED@DEFAULT",
            "series:capacity@CAPACITY@DEFAULT",
        ],
        "warnings": [],
    }
    # RefundQueue: latency = 36 / 15 × 5 = 12 ≤ 1.5 × slaMin 10 → yellow
    assert queue["kind"] == "queue"
    assert queue["metrics"]["queue"] == 36
    assert queue["derived"] == {
        "utilization": None,
        "latencyMinutes": 12,
        "throughputRatio": 0.75,
        "color": "yellow",
    }
    assert body["warnings"] == []
    assert body["metadata"]["runId"] == "sim"
    assert body["metadata"]["templateId"] == "checkout"
    assert body["metadata"]["telemetrySourcesResolved"] is True
    assert "rng" not in body["metadata"] and "createdUtc" not in body["metadata"]


def test_zero_capacity_gives_null_utilization_and_gray(tmp_path: Path) -> None:
    write_run_dir(tmp_path, "sim")
    checkout = snapshot(load(tmp_path, "sim"), 3)["nodes"][0]
    assert checkout["derived"]["utilization"] is None
    assert checkout["derived"]["color"] == "gray"


def test_window_lists_series_in_spec_order_with_colours(tmp_path: Path) -> None:
    write_run_dir(tmp_path, "sim")
    body = window(load(tmp_path, "sim"), 1, 3, max_bins=500)
    assert body["window"] == {"startBin": 1, "endBin": 3, "binCount": 3}
    assert body["timestampsUtc"] == ["2026-03-02T08:05:00Z", "2026-03-02T08:10:00Z", "2026-03-02T08:15:00Z"]
    checkout, queue = body["nodes"]
    assert list(checkout["series"]) == [
        "arrivals",
        "served",
        "errors",
        "capacity",
        "utilization",
        "throughputRatio",
    ]
    assert checkout["series"]["errors"] == [None, None, None]
    assert checkout["series"]["utilization"] == [0.6, 0.9, None]
    assert checkout["colors"] == ["green", "red", "gray"]
    assert list(queue["series"]) == [
        "arrivals",
        "served",
        "errors",
        "queue",
        "latencyMinutes",
        "throughputRatio",
    ]
    assert queue["series"]["latencyMinutes"] == [12, 10, 20]
    assert queue["colors"] == ["yellow", "green", "red"]


def test_reference_layout_with_bom_and_t_header_is_readable(tmp_path: Path) -> None:
    write_run_dir(tmp_path, "ref", header="t,value", bom=True)
    assert snapshot(load(tmp_path, "ref"), 0)["nodes"][0]["metrics"]["arrivals"] == 10


def test_telemetry_run_reads_file_semantics_and_marks_unresolved_ones(tmp_path: Path) -> None:
    files = {
        "Checkout_arrivals.csv": csv_text([10, 20, 30, 40], header="t,value"),
        "Checkout_served.csv": csv_text([10, 15, None, 20]),
        "Checkout_errors.csv": "bin_index,value\n0,0\n1,1\n",
    }
    warnings = [
        {
            "code": "data_gap",
            "message": "Missing value at bin 2 for Checkout:Served.",
            "nodeId": "Checkout",
            "bins": [2],
        },
        {
            "code": "length_mismatch",
            "message": "Series 'x.csv' contained 2 points but expected 4.",
            "nodeId": "Checkout",
        },
        {"code": "rows_out_of_window", "message": "Dropped 3 rows outside the grid window."},
    ]
    write_run_dir(
        tmp_path,
        "tel",
        model=TELEMETRY_MODEL,
        series={},
        mode="telemetry",
        telemetry_files=files,
        telemetry_manifest=telemetry_manifest(warnings=warnings),
    )
    state = load(tmp_path, "tel")
    body = snapshot(state, 2)
    node = body["nodes"][0]
    assert node["metrics"]["served"] is None  # empty cell: NaN → null
    assert node["metrics"]["capacity"] == 0  # unresolved in telemetry mode: zeros
    assert node["metrics"]["errors"] == 0  # no row for bin 2: reads as 0
    assert node["telemetry"]["sources"] == []
    codes = [w["code"] for w in node["telemetry"]["warnings"]]
    assert codes == ["telemetry_sources_unresolved", "telemetry_bins_missing", "data_gap", "length_mismatch"]
    first = node["telemetry"]["warnings"][0]
    assert first["message"] == ("Telemetry mode detected unresolved sources for capacity and invalid values in served.")
    missing = node["telemetry"]["warnings"][1]
    assert missing["message"] == (
        "Telemetry source 'file://telemetry/Checkout_errors.csv' has no rows for 2 bins; they read as 0."
    )
    assert missing["bins"] == [2, 3]
    assert body["warnings"] == [
        {
            "code": "telemetry_sources_missing",
            "message": "One or more telemetry sources could not be resolved for this run.",
            "severity": "warning",
            "nodeId": None,
            "bins": None,
        },
        {
            "code": "rows_out_of_window",
            "message": "Dropped 3 rows outside the grid window.",
            "severity": "warning",
            "nodeId": None,
            "bins": None,
        },
    ]
    assert body["metadata"]["telemetrySourcesResolved"] is False
    # /state at bin 1 drops the data_gap of bin 2; the window cuts bins to its range
    assert "data_gap" not in [w["code"] for w in snapshot(state, 1)["nodes"][0]["telemetry"]["warnings"]]
    windowed = window(state, 2, 3, max_bins=10)["nodes"][0]["telemetry"]["warnings"]
    assert next(w for w in windowed if w["code"] == "data_gap")["bins"] == [2]
    assert next(w for w in windowed if w["code"] == "telemetry_bins_missing")["bins"] == [2, 3]


def test_run_warnings_are_info_items(tmp_path: Path) -> None:
    write_run_dir(tmp_path, "sim", run={"warnings": ["unknown_key: Unknown key 'x' at root was ignored"]})
    assert snapshot(load(tmp_path, "sim"), 0)["warnings"] == [
        {
            "code": "run_warning",
            "message": "unknown_key: Unknown key 'x' at root was ignored",
            "severity": "info",
            "nodeId": None,
            "bins": None,
        }
    ]


def error_of(tmp_path: Path, run_id: str = "r", action: Any = None) -> FlowTimeError:
    with pytest.raises(FlowTimeError) as caught:
        state = load(tmp_path, run_id)
        (action or (lambda s: snapshot(s, 0)))(state)
    return caught.value


def test_missing_run_and_missing_run_json_are_not_found(tmp_path: Path) -> None:
    assert error_of(tmp_path).code == "run_not_found"
    write_run_dir(tmp_path, "r")
    (tmp_path / "r" / "run.json").unlink()
    err = error_of(tmp_path)
    assert (err.code, err.message) == ("run_not_found", "Run 'r' not found.")


def test_missing_model_is_artifact_missing(tmp_path: Path) -> None:
    write_run_dir(tmp_path, "r")
    (tmp_path / "r" / "model" / "model.yaml").unlink()
    (tmp_path / "r" / "spec.yaml").unlink()
    err = error_of(tmp_path)
    assert (err.code, err.message) == (
        "artifact_missing",
        "Required artifact missing for run 'r': model.yaml.",
    )


def test_spec_yaml_is_the_fallback_model(tmp_path: Path) -> None:
    write_run_dir(tmp_path, "r")
    (tmp_path / "r" / "model" / "model.yaml").unlink()
    assert snapshot(load(tmp_path, "r"), 0)["nodes"][0]["id"] == "Checkout"


def test_unparseable_model_is_a_parse_error(tmp_path: Path) -> None:
    write_run_dir(tmp_path, "r", model="schemaVersion: 1\ngrid: [unclosed\n")
    err = error_of(tmp_path)
    assert err.code == "model_parse_error"
    assert err.message.startswith("Model for run 'r' could not be parsed: Invalid YAML syntax")


def test_invalid_model_is_metadata_invalid_with_every_problem(tmp_path: Path) -> None:
    write_run_dir(tmp_path, "r", model=SERVICE_MODEL.format(mode="simulation").replace("binSize: 5", "binSize: 0"))
    err = error_of(tmp_path)
    assert err.code == "model_metadata_invalid"
    assert err.message == "Model metadata for run 'r' is invalid: binSize must be between 1 and 1000"
    assert err.to_dict()["errors"][0]["code"] == "grid_invalid"


def test_model_without_topology_is_topology_missing(tmp_path: Path) -> None:
    model = (
        "schemaVersion: 1\ngrid: {bins: 4, binSize: 5, binUnit: minutes}\n"
        "nodes:\n  - {id: a, kind: const, values: [1, 2, 3, 4]}\n"
    )
    write_run_dir(tmp_path, "r", model=model, series={"a": [1, 2, 3, 4]})
    err = error_of(tmp_path)
    assert err.code == "topology_missing"
    assert err.message == "Run 'r' does not include topology information required for state queries."


@pytest.mark.parametrize(
    ("metadata", "what"),
    [({"templateId": None}, "templateId is missing"), ({"templateId": ""}, "templateId is missing")],
)
def test_metadata_without_template_is_incomplete(tmp_path: Path, metadata: dict[str, Any], what: str) -> None:
    write_run_dir(tmp_path, "r", metadata=metadata)
    err = error_of(tmp_path)
    assert (err.code, err.message) == (
        "manifest_incomplete",
        f"Manifest metadata for run 'r' is incomplete: {what}.",
    )


def test_missing_metadata_is_incomplete(tmp_path: Path) -> None:
    write_run_dir(tmp_path, "r")
    (tmp_path / "r" / "model" / "metadata.json").unlink()
    err = error_of(tmp_path)
    assert err.message == "Manifest metadata for run 'r' is incomplete: model/metadata.json is missing."


def test_different_model_hashes_are_a_provenance_mismatch(tmp_path: Path) -> None:
    write_run_dir(tmp_path, "r", metadata={"modelHash": "sha256:" + "A" * 64}, run={"modelHash": "sha256:" + "b" * 64})
    err = error_of(tmp_path)
    assert err.code == "provenance_mismatch"
    assert err.message == (
        f"Provenance hash mismatch for run 'r'. Expected 'sha256:{'b' * 64}' but storage reported 'sha256:{'A' * 64}'."
    )


def test_hashes_differing_only_in_case_match(tmp_path: Path) -> None:
    write_run_dir(tmp_path, "r", metadata={"modelHash": "sha256:" + "A" * 64}, run={"modelHash": "sha256:" + "a" * 64})
    assert snapshot(load(tmp_path, "r"), 0)["metadata"]["provenanceHash"] == "sha256:" + "A" * 64


def test_malformed_series_in_simulation_mode_is_node_load_failed(tmp_path: Path) -> None:
    write_run_dir(tmp_path, "r")
    (tmp_path / "r" / "series" / "served@SERVED@DEFAULT.csv").write_text("bin_index,value\n0,abc\n")
    err = error_of(tmp_path)
    assert err.code == "node_load_failed"
    assert err.message.startswith("Failed to load data for node 'Checkout' in run 'r': Invalid CSV")


def test_simulation_node_without_required_series_fails_mode_validation(tmp_path: Path) -> None:
    write_run_dir(tmp_path, "r")
    (tmp_path / "r" / "series" / "served@SERVED@DEFAULT.csv").unlink()
    err = error_of(tmp_path)
    assert err.code == "mode_validation_failed"
    assert err.message == "Node 'Checkout' is missing required served series for simulation mode."


def test_invalid_values_are_reported_before_missing_ones(tmp_path: Path) -> None:
    write_run_dir(tmp_path, "r")
    (tmp_path / "r" / "series" / "arrivals@ARRIVALS@DEFAULT.csv").write_text(csv_text([1, "NaN", 3, 4]))  # type: ignore[list-item]
    (tmp_path / "r" / "series" / "served@SERVED@DEFAULT.csv").unlink()
    err = error_of(tmp_path)
    assert err.message == "Node 'Checkout' contains invalid values for arrivals in simulation mode."


def test_bin_range_is_checked_before_mode_validation(tmp_path: Path) -> None:
    write_run_dir(tmp_path, "r")
    (tmp_path / "r" / "series" / "served@SERVED@DEFAULT.csv").unlink()
    err = error_of(tmp_path, action=lambda s: snapshot(s, 4))
    assert (err.code, err.message) == ("bin_out_of_range", "binIndex must be between 0 and 3.")
    err = error_of(tmp_path, action=lambda s: window(s, 0, 9, max_bins=500))
    assert err.code == "mode_validation_failed"


@pytest.mark.parametrize(
    ("start", "end", "code", "message"),
    [
        (-1, 2, "bin_out_of_range", "startBin must be between 0 and 3."),
        (0, 4, "bin_out_of_range", "endBin must be between 0 and 3."),
        (3, 1, "invalid_query", "endBin must be greater than or equal to startBin."),
        (0, 3, "window_too_large", "Requested bin range 4 exceeds maximum supported window size of 3."),
    ],
)
def test_window_range_errors(tmp_path: Path, start: int, end: int, code: str, message: str) -> None:
    write_run_dir(tmp_path, "r")
    err = error_of(tmp_path, action=lambda s: window(s, start, end, max_bins=3))
    assert (err.code, err.message) == (code, message)


def test_window_needs_a_grid_start_but_snapshot_does_not(tmp_path: Path) -> None:
    write_run_dir(
        tmp_path,
        "r",
        model=SERVICE_MODEL.format(mode="simulation").replace("  start: 2026-03-02T08:00:00Z\n", ""),
    )
    state = load(tmp_path, "r")
    assert snapshot(state, 0)["bin"]["startUtc"] is None
    err = error_of(tmp_path, action=lambda s: window(s, 0, 1, max_bins=500))
    assert (err.code, err.message) == (
        "start_time_missing",
        "Run is missing window.startTimeUtc required for time-travel responses.",
    )


def test_series_path_leaving_the_run_is_not_followed(tmp_path: Path) -> None:
    run_dir = write_run_dir(tmp_path, "r")
    (tmp_path / "evil.csv").write_text(csv_text([9, 9, 9, 9]))
    index = json.loads((run_dir / "series" / "index.json").read_text())
    index["series"][0]["path"] = "../evil.csv"
    (run_dir / "series" / "index.json").write_text(json.dumps(index))
    # falls back to series/<id>.csv inside the run
    assert snapshot(load(tmp_path, "r"), 0)["nodes"][0]["metrics"]["arrivals"] == 10


def test_a_series_file_linked_out_of_the_run_is_not_read(tmp_path: Path) -> None:
    run_dir = write_run_dir(tmp_path, "r")
    (tmp_path / "evil.csv").write_text(csv_text([9, 9, 9, 9]))
    served = run_dir / "series" / "served@SERVED@DEFAULT.csv"
    served.unlink()
    served.symlink_to(tmp_path / "evil.csv")
    err = error_of(tmp_path)  # as if the file were missing
    assert err.code == "mode_validation_failed"
    assert err.message == "Node 'Checkout' is missing required served series for simulation mode."


def test_a_series_file_linked_inside_the_run_is_read(tmp_path: Path) -> None:
    run_dir = write_run_dir(tmp_path, "r")
    served = run_dir / "series" / "served@SERVED@DEFAULT.csv"
    (run_dir / "series" / "kept.csv").write_text(csv_text([7, 7, 7, 7]))
    served.unlink()
    served.symlink_to(run_dir / "series" / "kept.csv")
    assert snapshot(load(tmp_path, "r"), 0)["nodes"][0]["metrics"]["served"] == 7


def test_a_series_directory_linked_out_of_the_run_is_not_read(tmp_path: Path) -> None:
    run_dir = write_run_dir(tmp_path, "r")
    outside = tmp_path / "elsewhere"
    (run_dir / "series").rename(outside)
    (run_dir / "series").symlink_to(outside)
    err = error_of(tmp_path)
    assert err.code == "mode_validation_failed"
