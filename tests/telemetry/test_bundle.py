"""The bundle builder: the full simulate → capture → replay loop, every §6.1 check, conflicts, provenance."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.events import EventLog
from tests.telemetry.factories import (
    SMALL_MODEL,
    catalogue,
    csv_text,
    hand_run,
    series_of,
    simulate,
    template_model,
)

from flowtime.artifacts import json_bytes, sha256_bytes, write_run
from flowtime.engine import evaluate
from flowtime.errors import FlowTimeError, ModelInvalid
from flowtime.model import load_model
from flowtime.telemetry.bundle import build_bundle
from flowtime.telemetry.capture import capture

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def capture_of(run: Path, out: Path, **options: object) -> Path:
    capture(run, out, telemetry_root=out.parent / ".tel", roots=[out.parent], now=NOW, **options)  # type: ignore[arg-type]
    return out


def visible(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


@pytest.mark.parametrize(
    ("template_id", "rng"),
    [(t.id, 7 if t.id == "network-reliability" else None) for t in catalogue().templates],
)
def test_replay_of_a_capture_reproduces_every_series_of_the_source_run(
    tmp_path: Path, template_id: str, rng: int | None
) -> None:
    runs = tmp_path / "runs"
    source = simulate(runs, template_id, rng=rng)
    captured = capture_of(source, tmp_path / "cap")
    text, seed = template_model(template_id, rng=rng)
    result = build_bundle(captured, text, runs_root=runs, rng_seed=seed, deterministic_run_id=True, now=NOW)
    replay = result.run.run_dir
    assert replay != source
    assert series_of(replay) == series_of(source)
    metadata = json.loads((replay / "model" / "metadata.json").read_text())
    assert metadata["mode"] == "telemetry"
    assert "mode: telemetry\n" in (replay / "spec.yaml").read_text()
    manifest = json.loads((captured / "manifest.json").read_text())
    copied = replay / "model" / "telemetry"
    assert (copied / "telemetry-manifest.json").read_bytes() == (captured / "manifest.json").read_bytes()
    for f in manifest["files"]:
        assert sha256_bytes((copied / f["path"]).read_bytes()) == f["hash"]
    assert set(metadata["replacedNodes"]) <= {n.split("@")[0] for n in series_of(source)}
    assert result.to_json() == {
        "runDirectory": str(replay),
        "runId": result.run.run_id,
        "telemetryManifest": manifest,
        "warnings": [],
    }


def test_synthesized_queue_is_replayed_from_its_captured_depth(tmp_path: Path) -> None:
    text = """\
schemaVersion: 1
grid: {bins: 5, binSize: 1, binUnit: hours}
nodes:
  - id: inbound
    values: [5, 9, 2, 0, 7]
  - id: cap
    values: [4, 4, 4, 4, 4]
  - id: backlog_age
    kind: expr
    expr: intake_queue_queue / MAX(cap, 1)
topology:
  nodes:
    - id: IntakeQueue
      kind: serviceWithBuffer
      semantics: {arrivals: inbound, capacity: cap}
"""
    runs = tmp_path / "runs"
    model = load_model(text)
    source = write_run(runs, spec_text=text, model=model, evaluation=evaluate(model), run_id="src").run_dir
    captured = capture_of(source, tmp_path / "cap")
    assert sorted(visible(captured)) == [
        "IntakeQueue_arrivals.csv",
        "IntakeQueue_capacity.csv",
        "IntakeQueue_queuedepth.csv",
        "manifest.json",
    ]
    result = build_bundle(captured, text, runs_root=runs, run_id="replay", now=NOW)
    replayed = (result.run.run_dir / "spec.yaml").read_text()
    assert "semantics: {arrivals: inbound, capacity: cap, queueDepth: intake_queue_queue}" in replayed
    assert series_of(result.run.run_dir) == series_of(source)


def test_import_then_replay(tmp_path: Path) -> None:
    from flowtime.telemetry.ingest import import_telemetry, make_grid

    rows = "timestamp,nodeId,metric,value\n" + "".join(
        f"2026-03-02T08:{15 * i:02d}:00Z,HttpService,{m},{v}\n"
        for i in range(4)
        for m, v in (("arrivals", 30 + i), ("served", 20 + i))
    )
    (tmp_path / "in.csv").write_text(rows)
    grid = make_grid("2026-03-02T08:00:00Z", 4, 15, "minutes")
    import_telemetry(tmp_path / "in.csv", tmp_path / "cap", grid=grid, telemetry_root=tmp_path / ".tel")
    result = build_bundle(tmp_path / "cap", SMALL_MODEL, runs_root=tmp_path / "runs", run_id="r")
    series = series_of(result.run.run_dir)
    assert series["calls"] == csv_text("30", "31", "32", "33").encode()
    assert series["handled"] == csv_text("20", "21", "22", "23").encode()


# ------------------------------------------------------------------------------------------- checks


@pytest.fixture
def small_capture(tmp_path: Path) -> Path:
    run = hand_run(
        tmp_path / "src",
        {"calls": csv_text("30", "44", "52", "41"), "handled": csv_text("30", "40", "40", "40")},
    )
    return capture_of(run, tmp_path / "cap")


def rewrite_manifest(capture_dir: Path, edit) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads((capture_dir / "manifest.json").read_text())
    edit(doc)
    (capture_dir / "manifest.json").write_bytes(json_bytes(doc))


def replace_file(capture_dir: Path, name: str, data: bytes) -> None:
    (capture_dir / name).write_bytes(data)

    def fix(doc: dict) -> None:  # type: ignore[type-arg]
        for f in doc["files"]:
            if f["path"] == name:
                f["hash"] = sha256_bytes(data)

    rewrite_manifest(capture_dir, fix)


def bundle_error(capture_dir: Path, tmp_path: Path, model: str = SMALL_MODEL, **options: object) -> FlowTimeError:
    runs = tmp_path / "runs"
    with pytest.raises(FlowTimeError) as info:
        build_bundle(capture_dir, model, runs_root=runs, capture_label="web/2026-03", **options)  # type: ignore[arg-type]
    assert [n for n in visible(runs)] in ([], [".locks"]) or all(n.startswith(".") for n in visible(runs))
    return info.value


def test_missing_capture_directory(tmp_path: Path) -> None:
    error = bundle_error(tmp_path / "none", tmp_path)
    assert (error.code, error.message) == ("capture_not_found", "Capture 'web/2026-03' was not found.")


def test_missing_and_invalid_manifest(small_capture: Path, tmp_path: Path) -> None:
    data = (small_capture / "manifest.json").read_bytes()
    (small_capture / "manifest.json").unlink()
    assert bundle_error(small_capture, tmp_path).code == "capture_manifest_missing"
    (small_capture / "manifest.json").write_bytes(data.replace(b'"Arrivals"', b'"Latency"'))
    error = bundle_error(small_capture, tmp_path)
    assert error.code == "capture_manifest_invalid"
    assert error.message.startswith("Capture 'web/2026-03' has an invalid manifest.json: $.files[0].metric")


@pytest.mark.parametrize(
    "path",
    [
        "../src/run_hand/run.json",
        "/etc/passwd",
        "gone.csv",
        "sub\\x.csv",
        "link.csv",
        " HttpService_arrivals.csv",
    ],
)
def test_manifest_paths_must_be_plain_files_inside_the_capture(small_capture: Path, tmp_path: Path, path: str) -> None:
    if path == "link.csv":
        (tmp_path / "secret.csv").write_text(csv_text("1", "1", "1", "1"))
        os.symlink(tmp_path / "secret.csv", small_capture / "link.csv")

    def point(doc: dict) -> None:  # type: ignore[type-arg]
        doc["files"][0]["path"] = path

    rewrite_manifest(small_capture, point)
    error = bundle_error(small_capture, tmp_path)
    assert error.code == "capture_file_missing"
    assert error.message == (
        f"Capture 'web/2026-03' lists '{path}', which is missing or not a plain file inside the capture."
    )


def test_checksum_mismatch(small_capture: Path, tmp_path: Path) -> None:
    (small_capture / "HttpService_served.csv").write_bytes(b"bin_index,value\n0,1\n1,1\n2,1\n3,1\n")
    error = bundle_error(small_capture, tmp_path)
    assert error.code == "capture_checksum_mismatch"
    assert "'HttpService_served.csv' of capture 'web/2026-03'" in error.message


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        (
            b"bin_index,value\n0,1\n1,1\n2,1\n",
            "telemetry_length_mismatch",
            "Telemetry CSV 'HttpService_served.csv' contained 3 points but expected 4.",
        ),
        (
            b"bin_index,value\n0,1\n1,x\n2,1\n3,1\n",
            "telemetry_csv_invalid",
            "Invalid CSV 'HttpService_served.csv' at line 3: invalid value 'x'.",
        ),
        (
            b"index,value\n0,1\n",
            "telemetry_csv_invalid",
            "Invalid CSV 'HttpService_served.csv' at line 1: header must be 'bin_index,value' or 't,value'.",
        ),
        (
            b"bin_index,value\n0,1\n0,1\n2,1\n3,1\n",
            "telemetry_csv_invalid",
            "Invalid CSV 'HttpService_served.csv' at line 3: duplicate bin index 0.",
        ),
    ],
)
def test_files_are_read_strictly(small_capture: Path, tmp_path: Path, data: bytes, code: str, message: str) -> None:
    replace_file(small_capture, "HttpService_served.csv", data)
    error = bundle_error(small_capture, tmp_path)
    assert (error.code, error.message) == (code, message)


def test_model_must_parse_and_match_the_grid(small_capture: Path, tmp_path: Path) -> None:
    error = bundle_error(small_capture, tmp_path, model="schemaVersion: 1\ngrid: [\n")
    assert error.code == "model_invalid" and isinstance(error, ModelInvalid) and error.problems
    mismatch = bundle_error(small_capture, tmp_path, model=SMALL_MODEL.replace("binSize: 15", "binSize: 5"))
    assert mismatch.code == "capture_grid_mismatch"
    assert mismatch.message == (
        "Model grid (4 bins of 5 minutes) does not match the grid of capture 'web/2026-03' (4 bins of 15 minutes)."
    )
    same = SMALL_MODEL.replace("binUnit: minutes", "binUnit: MINUTES")
    assert build_bundle(small_capture, same, runs_root=tmp_path / "runs", run_id="ok").run.run_id == "ok"


def test_run_id_rules(small_capture: Path, tmp_path: Path) -> None:
    assert bundle_error(small_capture, tmp_path, run_id="../x").code == "invalid_run_id"
    build_bundle(small_capture, SMALL_MODEL, runs_root=tmp_path / "runs", run_id="taken")
    with pytest.raises(FlowTimeError) as info:
        build_bundle(small_capture, SMALL_MODEL, runs_root=tmp_path / "runs", run_id="taken")
    assert info.value.code == "run_exists"
    again = build_bundle(small_capture, SMALL_MODEL, runs_root=tmp_path / "runs", run_id="taken", overwrite=True)
    assert again.run.run_id == "taken"


def test_model_source_outside_the_sandbox_fails_the_load(small_capture: Path, tmp_path: Path) -> None:
    model = SMALL_MODEL.replace("values: [30, 44, 52, 41]", "source: file:../../../etc/passwd").replace(
        "    served: handled\n", "    served: handled\n"
    )
    hostile = model.replace("topology:\n  nodes:\n    - id: HttpService\n", "topology:\n  nodes:\n    - id: Other\n")
    error = bundle_error(small_capture, tmp_path, model=hostile)
    assert error.code == "model_invalid"
    assert any(p.code == "uri_outside_sandbox" for p in error.problems)  # type: ignore[attr-defined]


def test_absolute_source_into_the_capture_is_rewritten(small_capture: Path, tmp_path: Path) -> None:
    uri = f"file://{small_capture}/HttpService_arrivals.csv"
    model = SMALL_MODEL.replace("values: [30, 44, 52, 41]", f'source: "{uri}"').replace(
        "- id: HttpService", "- id: Svc"
    )
    result = build_bundle(small_capture, model, runs_root=tmp_path / "runs", run_id="abs")
    text = (result.run.run_dir / "spec.yaml").read_text()
    assert 'source: "file://telemetry/HttpService_arrivals.csv"' in text and str(small_capture) not in text


def test_conflicting_files_for_one_node_warn_and_the_first_wins(tmp_path: Path) -> None:
    twin = "    - id: Twin\n      semantics:\n        arrivals: calls\n        served: handled\noutputs:"
    model = SMALL_MODEL.replace("outputs:", twin)
    run = hand_run(
        tmp_path / "src",
        {"calls": csv_text("1", "2", "3", "4"), "handled": csv_text("1", "1", "1", "1")},
        model=model,
    )
    captured = capture_of(run, tmp_path / "cap")
    replace_file(captured, "Twin_arrivals.csv", csv_text("9", "9", "9", "9").encode())
    result = build_bundle(captured, model, runs_root=tmp_path / "runs", run_id="c")
    run_json = json.loads((result.run.run_dir / "run.json").read_text())
    assert run_json["warnings"] == [
        "telemetry_conflict: Telemetry files 'HttpService_arrivals.csv' and 'Twin_arrivals.csv' both supply "
        "'calls' but differ; 'HttpService_arrivals.csv' is used."
    ]
    assert series_of(result.run.run_dir)["calls"] == csv_text("1", "2", "3", "4").encode()


def test_provenance_supplement_and_replaced_nodes_are_recorded(small_capture: Path, tmp_path: Path) -> None:
    provenance = json.dumps({"modelId": "m-42", "templateId": "adhoc", "source": "cli"})
    result = build_bundle(
        small_capture, SMALL_MODEL, runs_root=tmp_path / "runs", run_id="p", provenance_text=provenance
    )
    stored = json.loads((result.run.run_dir / "model" / "provenance.json").read_text())
    assert stored["modelId"] == "m-42"
    metadata = json.loads((result.run.run_dir / "model" / "metadata.json").read_text())
    assert metadata["replacedNodes"] == {
        "calls": {"id": "calls", "values": [30, 44, 52, 41]},
        "handled": {"id": "handled", "kind": "expr", "expr": "MIN(calls, 40)"},
    }
    bare = build_bundle(small_capture, SMALL_MODEL, runs_root=tmp_path / "runs", run_id="q", provenance_text="m-7")
    assert json.loads((bare.run.run_dir / "model" / "provenance.json").read_text())["modelId"] == "m-7"


WIP_MODEL = """\
schemaVersion: 1
grid: {bins: 4, binSize: 1, binUnit: hours}
nodes:
  - id: inbound
    values: [8, 9, 2, 0]
  - id: cap
    values: [3, 3, 3, 3]
  - id: spill_share
    kind: expr
    expr: intake_queue_overflow / MAX(inbound, 1)
topology:
  nodes:
    - id: IntakeQueue
      kind: serviceWithBuffer
      semantics: {arrivals: inbound, capacity: cap}
      wipLimit: 4
      wipOverflow: DLQ
    - id: DLQ
      kind: dlq
      semantics: {arrivals: cap, capacity: cap}
"""


def test_observed_queues_report_underivable_wip_columns_as_zero(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    model = load_model(WIP_MODEL)
    source = write_run(runs, spec_text=WIP_MODEL, model=model, evaluation=evaluate(model), run_id="src").run_dir
    before = series_of(source)
    assert {"intake_queue_overflow", "intake_queue_wip_limit", "dlq_inflow_from_intake_queue"} <= set(before)
    captured = capture_of(source, tmp_path / "cap")
    result = build_bundle(captured, WIP_MODEL, runs_root=runs, run_id="replay", now=NOW)
    after = series_of(result.run.run_dir)
    assert set(after) == set(before)
    zeros = csv_text("0", "0", "0", "0").encode()
    for column in ("intake_queue_overflow", "intake_queue_wip_limit", "dlq_inflow_from_intake_queue", "spill_share"):
        assert after[column] == zeros, column
    for column in ("inbound", "cap", "intake_queue_queue", "dlq_queue"):
        assert after[column] == before[column], column
    warnings = json.loads((result.run.run_dir / "run.json").read_text())["warnings"]
    assert warnings == [
        "telemetry_derived_unavailable: Series intake_queue_overflow, intake_queue_wip_limit, "
        "dlq_inflow_from_intake_queue cannot be derived from telemetry for node 'IntakeQueue'; reported as 0."
    ]


@pytest.mark.parametrize(
    ("template", "accepted", "problem"),
    [
        ("file://{cap}/HttpService_arrivals.csv", True, None),
        ("file://LOCALHOST{cap}/HttpService_arrivals.csv", True, None),
        ("FILE:{cap}/../cap/HttpService_arrivals.csv", True, None),
        ("file://{cap}/%48ttpService_arrivals.csv", True, None),
        ("file://fileserver{cap}/HttpService_arrivals.csv", False, "uri_unsupported"),
        ("file://{cap}/%2e%2e/secret.csv", False, "uri_outside_sandbox"),
        ("file://{cap}/link.csv", False, "uri_outside_sandbox"),
        ("file://{cap}/../secret.csv", False, "uri_outside_sandbox"),
        ("http://{cap}/HttpService_arrivals.csv", False, "uri_unsupported"),
        ("file:HttpService_arrivals.csv", False, "source_not_found"),
    ],
)
def test_hostile_source_uris_are_never_rewritten_into_the_capture(
    small_capture: Path, tmp_path: Path, template: str, accepted: bool, problem: str | None
) -> None:
    (tmp_path / "secret.csv").write_text(csv_text("6", "6", "6", "6"))
    if not (small_capture / "link.csv").exists():
        os.symlink(tmp_path / "secret.csv", small_capture / "link.csv")
    uri = template.replace("{cap}", str(small_capture))
    model = SMALL_MODEL.replace("values: [30, 44, 52, 41]", f'source: "{uri}"').replace("- id: HttpService", "- id: S")
    runs = tmp_path / "runs"
    if accepted:
        result = build_bundle(small_capture, model, runs_root=runs, run_id="ok")
        assert 'source: "file://telemetry/HttpService_arrivals.csv"' in (result.run.run_dir / "spec.yaml").read_text()
        return
    with pytest.raises(ModelInvalid) as info:
        build_bundle(small_capture, model, runs_root=runs, run_id="no")
    assert [p.code for p in info.value.errors] == [problem]
    assert uri in info.value.errors[0].message
    assert not (runs / "no").exists()


def test_bundle_logs_start_completed_and_failed(small_capture: Path, tmp_path: Path, events: EventLog) -> None:
    build_bundle(small_capture, SMALL_MODEL, runs_root=tmp_path / "runs", run_id="b", capture_label="key")
    with pytest.raises(FlowTimeError):
        build_bundle(small_capture, SMALL_MODEL, runs_root=tmp_path / "runs", run_id="b", capture_label="key")
    ids = [i for i in events.ids() if 2200 <= i < 2300]
    assert ids == [2201, 2202, 2201, 2203]
    assert events.of(2202)[0]["runId"] == "b" and events.of(2202)[0]["fileCount"] == 2
    failed = events.of(2203)[0]
    assert (failed["captureDirectory"], failed["code"], failed["level"]) == ("key", "run_exists", "error")


def test_deterministic_replays_of_different_captures_get_different_run_ids(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    low = simulate(runs, "http-service", {"serviceCapacity": 40})
    high = simulate(runs, "http-service", {"serviceCapacity": 60})
    text, seed = template_model("http-service")
    first = build_bundle(
        capture_of(low, tmp_path / "low"), text, runs_root=runs, rng_seed=seed, deterministic_run_id=True
    )
    second = build_bundle(
        capture_of(high, tmp_path / "high"), text, runs_root=runs, rng_seed=seed, deterministic_run_id=True
    )
    assert first.run.run_id != second.run.run_id
    assert first.run.run_dir.is_dir() and second.run.run_dir.is_dir()
    again = build_bundle(tmp_path / "low", text, runs_root=runs, rng_seed=seed, deterministic_run_id=True)
    assert again.run.run_id == first.run.run_id
    spec = (first.run.run_dir / "spec.yaml").read_text()
    files = json.loads((tmp_path / "low" / "manifest.json").read_text())["files"]
    listing = "".join(f"{f['nodeId']}\t{f['metric']}\t{f['path']}\t{f['hash']}\n" for f in files)
    assert spec.startswith(f"# telemetry capture data {sha256_bytes(listing.encode())}\n")
