"""The explicit generation service: targets, idempotency, overwrite, autocapture.json, sync, locks."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.events import EventLog
from tests.telemetry.factories import hand_run, simulate

from flowtime.artifacts import sha256_bytes
from flowtime.errors import FlowTimeError
from flowtime.telemetry.autocapture import parameters_hash
from flowtime.telemetry.availability import telemetry_summary
from flowtime.telemetry.generation import CaptureAlreadyExists, generate_capture
from flowtime.telemetry.locks import capture_lock
from flowtime.telemetry.manifest import read_manifest

NOW = datetime(2026, 3, 2, 8, 31, 50, 20116, tzinfo=UTC)
LATER = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "runs", tmp_path / "telemetry"


def generate(roots: tuple[Path, Path], run_id: str, **options: object):  # type: ignore[no-untyped-def]
    runs, telemetry = roots
    return generate_capture(run_id, runs_root=runs, telemetry_root=telemetry, **options)  # type: ignore[arg-type]


def test_run_scoped_generation_writes_bundle_autocapture_and_syncs_manifest(roots: tuple[Path, Path]) -> None:
    run = simulate(roots[0], "http-service")
    result = generate(roots, run.name, now=NOW)
    assert result.to_json() == {
        "generated": True,
        "alreadyExists": False,
        "generatedAtUtc": "2026-03-02T08:31:50.020116Z",
        "sourceRunId": run.name,
        "captureKey": None,
        "warnings": [],
    }
    target = run / "model" / "telemetry"
    assert sorted(p.name for p in target.iterdir()) == [
        "HttpService_arrivals.csv",
        "HttpService_capacity.csv",
        "HttpService_errors.csv",
        "HttpService_served.csv",
        "RequestQueue_arrivals.csv",
        "RequestQueue_queuedepth.csv",
        "RequestQueue_served.csv",
        "autocapture.json",
        "manifest.json",
        "telemetry-manifest.json",
    ]
    assert (target / "telemetry-manifest.json").read_bytes() == (target / "manifest.json").read_bytes()
    manifest = read_manifest(target, label="run")
    assert manifest.provenance.captured_at_utc == "2026-03-02T08:31:50.020116Z"
    metadata = json.loads((run / "model" / "metadata.json").read_text())
    auto = json.loads((target / "autocapture.json").read_text())
    assert auto == {
        "templateId": "http-service",
        "templateVersion": "1.0.0",
        "captureKey": None,
        "sourceRunId": run.name,
        "generatedAtUtc": "2026-03-02T08:31:50.020116Z",
        "rngSeed": 123,
        "parametersHash": parameters_hash("http-service", "1.0.0", 123, metadata["parameters"]),
        "scenarioHash": json.loads((run / "run.json").read_text())["scenarioHash"],
    }
    assert auto["parametersHash"] != "sha256:" + sha256_bytes(b"")[7:]
    assert telemetry_summary(run).to_json() == {
        "available": True,
        "generatedAtUtc": "2026-03-02T08:31:50.020116Z",
        "warningCount": 0,
        "sourceRunId": run.name,
    }
    assert not list(roots[0].glob(".tmp-*"))


def test_second_request_is_capture_exists_with_stored_values_and_does_no_work(
    roots: tuple[Path, Path],
) -> None:
    run = simulate(roots[0], "http-service")
    generate(roots, run.name, now=NOW)
    before = {p.name: p.stat().st_mtime_ns for p in (run / "model" / "telemetry").iterdir()}
    with pytest.raises(CaptureAlreadyExists) as info:
        generate(roots, run.name, now=LATER)
    assert info.value.code == "capture_exists"
    assert info.value.to_dict() == {
        "error": "Telemetry bundle already exists (generated at 2026-03-02T08:31:50.020116Z). "
        "Set output.overwrite to regenerate.",
        "code": "capture_exists",
        "capture": {
            "generated": False,
            "alreadyExists": True,
            "generatedAtUtc": "2026-03-02T08:31:50.020116Z",
            "sourceRunId": run.name,
            "captureKey": None,
            "warnings": [],
        },
    }
    assert {p.name: p.stat().st_mtime_ns for p in (run / "model" / "telemetry").iterdir()} == before


def test_overwrite_regenerates_keeping_the_run_manifest_name(roots: tuple[Path, Path]) -> None:
    run = simulate(roots[0], "http-service")
    generate(roots, run.name, now=NOW)
    target = run / "model" / "telemetry"
    (target / "stale.csv").write_text("x")
    result = generate(roots, run.name, overwrite=True, now=LATER)
    assert result.generated_at_utc == "2026-03-02T09:00:00.000000Z"
    assert not (target / "stale.csv").exists()
    assert json.loads((target / "autocapture.json").read_text())["generatedAtUtc"] == "2026-03-02T09:00:00.000000Z"
    assert (target / "telemetry-manifest.json").read_bytes() == (target / "manifest.json").read_bytes()


def test_capture_key_target_and_the_source_run_sees_the_sync(roots: tuple[Path, Path]) -> None:
    run = simulate(roots[0], "order-system")
    result = generate(roots, run.name, capture_key="orders/2026-03", now=NOW)
    target = roots[1] / "orders" / "2026-03"
    assert result.capture_key == "orders/2026-03"
    assert json.loads((target / "autocapture.json").read_text())["captureKey"] == "orders/2026-03"
    synced = run / "model" / "telemetry" / "telemetry-manifest.json"
    assert synced.read_bytes() == (target / "manifest.json").read_bytes()
    assert not (run / "model" / "telemetry" / "manifest.json").exists()
    assert telemetry_summary(run).available is True
    assert len(read_manifest(target, label="k").files) == 8


def test_directory_target_relative_to_telemetry_root_and_outside_roots(
    roots: tuple[Path, Path], tmp_path: Path
) -> None:
    run = simulate(roots[0], "http-service")
    generate(roots, run.name, directory="by-dir/one", now=NOW)
    assert (roots[1] / "by-dir" / "one" / "manifest.json").is_file()
    for hostile in ("../escape", str(tmp_path / "elsewhere"), "/etc", "a/../../x"):
        with pytest.raises(FlowTimeError) as info:
            generate(roots, run.name, directory=hostile)
        assert info.value.code == "path_outside_roots", hostile
    extra = tmp_path / "extra"
    generate(roots, run.name, directory=str(extra / "cap"), allowed_roots=[extra], now=NOW)
    assert (extra / "cap" / "manifest.json").is_file()


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"capture_key": "k", "directory": "d"}, "invalid_output"),
        ({"capture_key": "../x"}, "invalid_capture_key"),
        ({"capture_key": "a//b"}, "invalid_capture_key"),
        ({"capture_key": "/".join(["s"] * 9)}, "invalid_capture_key"),
    ],
)
def test_invalid_output_options(roots: tuple[Path, Path], options: dict[str, str], code: str) -> None:
    run = simulate(roots[0], "http-service")
    with pytest.raises(FlowTimeError) as info:
        generate(roots, run.name, **options)
    assert info.value.code == code


def test_roots_and_run_directories_are_never_targets(roots: tuple[Path, Path]) -> None:
    run = simulate(roots[0], "http-service")
    before = sorted(p.name for p in run.iterdir())
    cases = [
        ({"directory": str(roots[0])}, f"Output directory '{roots[0]}' is a root itself; name a directory inside it."),
        ({"directory": "."}, "Output directory '.' is a root itself; name a directory inside it."),
        (
            {"directory": str(run), "overwrite": True},
            f"Output directory '{run}' is a run directory; write the bundle to a directory of its own.",
        ),
    ]
    for options, message in cases:
        with pytest.raises(FlowTimeError) as info:
            generate(roots, run.name, **options)
        assert (info.value.code, info.value.message) == ("invalid_output", message)
    assert sorted(p.name for p in run.iterdir()) == before


def test_run_checks(roots: tuple[Path, Path]) -> None:
    with pytest.raises(FlowTimeError) as bad:
        generate(roots, "../etc")
    assert bad.value.code == "invalid_run_id"
    with pytest.raises(FlowTimeError) as missing:
        generate(roots, "run_missing")
    assert (missing.value.code, missing.value.message) == ("run_not_found", "Run 'run_missing' not found.")
    run = hand_run(roots[0], {"calls": "bin_index,value\n0,1\n"})
    (run / "model" / "metadata.json").write_text('{"mode": "telemetry"}')
    with pytest.raises(FlowTimeError) as telemetry:
        generate(roots, run.name)
    assert telemetry.value.code == "capture_source_invalid"
    assert telemetry.value.message == "Run 'run_hand' is a telemetry run; only simulation runs can be captured."


def test_run_without_bindings_is_capture_empty_and_target_untouched(roots: tuple[Path, Path]) -> None:
    run = hand_run(roots[0], {"x": "bin_index,value\n0,1\n"}, model="schemaVersion: 1\ngrid: {bins: 4}\n")
    with pytest.raises(FlowTimeError) as info:
        generate(roots, run.name, capture_key="empty")
    assert info.value.code == "capture_empty"
    assert info.value.message == "Run 'run_hand' has no series matching its topology semantics or outputs."
    assert not (roots[1] / "empty").exists()


def test_lock_held_elsewhere_is_capture_in_progress(roots: tuple[Path, Path]) -> None:
    run = simulate(roots[0], "http-service")
    with capture_lock(run / "model" / "telemetry", roots[1]), pytest.raises(FlowTimeError) as info:
        generate(roots, run.name)
    assert info.value.code == "capture_in_progress"
    assert info.value.message == "Telemetry generation is already in progress for this capture."
    assert generate(roots, run.name).generated


def test_stochastic_template_capture_is_deterministic_under_its_seed(roots: tuple[Path, Path]) -> None:
    first = simulate(roots[0], "network-reliability", rng=2024, run_id="first")
    second = simulate(roots[0], "network-reliability", rng=2024, run_id="second")
    generate(roots, "first", capture_key="a", now=NOW)
    generate(roots, "second", capture_key="b", now=NOW)
    a = json.loads((roots[1] / "a" / "autocapture.json").read_text())
    b = json.loads((roots[1] / "b" / "autocapture.json").read_text())
    assert a["rngSeed"] == b["rngSeed"] == 2024
    assert a["parametersHash"] == b["parametersHash"]
    files_a = {p.name: p.read_bytes() for p in (roots[1] / "a").glob("*.csv")}
    files_b = {p.name: p.read_bytes() for p in (roots[1] / "b").glob("*.csv")}
    assert files_a == files_b and files_a
    assert first != second
    simulate(roots[0], "network-reliability", rng=7, run_id="third")
    generate(roots, "third", capture_key="c", now=NOW)
    c = json.loads((roots[1] / "c" / "autocapture.json").read_text())
    assert c["rngSeed"] == 7 and c["parametersHash"] != a["parametersHash"]
    assert {p.name: p.read_bytes() for p in (roots[1] / "c").glob("*.csv")} != files_a


def test_twenty_concurrent_generations_produce_exactly_one_bundle(roots: tuple[Path, Path]) -> None:
    run = simulate(roots[0], "microservices")
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    guard = threading.Lock()

    def worker() -> None:
        barrier.wait()
        try:
            result = generate(roots, run.name, capture_key="shared")
            outcome = "generated" if result.generated else "?"
        except FlowTimeError as exc:
            outcome = exc.code
        with guard:
            outcomes.append(outcome)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("generated") == 1
    assert set(outcomes) <= {"generated", "capture_exists", "capture_in_progress"}
    manifest = read_manifest(roots[1] / "shared", label="shared")
    for f in manifest.files:
        assert sha256_bytes((roots[1] / "shared" / f.path).read_bytes()) == f.hash
    assert len(manifest.files) == 24
    assert not list(roots[1].glob(".tmp-*"))


def test_generation_logs_start_completed_exists_busy_and_failed(roots: tuple[Path, Path], events: EventLog) -> None:
    run = simulate(roots[0], "http-service")
    events.records.clear()
    generate(roots, run.name, capture_key="k", now=NOW)
    assert events.ids() == [2101, 2001, *[2002] * 7, 2003, 2102]  # the capture pipeline logs inside (§3.1 step 6)
    capture_start = events.of(2001)[0]
    assert (capture_start["runId"], capture_start["dryRun"], capture_start["gapMode"], capture_start["fillNaN"]) == (
        run.name,
        False,
        "ignore",
        False,
    )
    assert (events.of(2003)[0]["fileCount"], events.of(2003)[0]["dryRun"]) == (7, False)
    with pytest.raises(FlowTimeError):
        generate(roots, run.name, capture_key="k")
    with capture_lock(roots[1] / "other", roots[1]), pytest.raises(FlowTimeError):
        generate(roots, run.name, capture_key="other")
    empty = hand_run(roots[0], {"x": "bin_index,value\n0,1\n"}, model="schemaVersion: 1\ngrid: {bins: 4}\n")
    with pytest.raises(FlowTimeError):
        generate(roots, empty.name)
    ids = [i for i in events.ids() if i >= 2100]
    assert ids == [2101, 2102, 2101, 2103, 2101, 2105, 2101, 2104]
    start = events.of(2101)[0]
    assert (start["runId"], start["templateId"], start["captureKey"], start["target"], start["overwrite"]) == (
        run.name,
        "http-service",
        "k",
        "captureKey",
        False,
    )
    completed = events.of(2102)[0]
    assert completed["fileCount"] == 7 and completed["warningCount"] == 0 and completed["durationMs"] >= 0
    assert events.of(2103)[0]["generatedAtUtc"] == "2026-03-02T08:31:50.020116Z"
    assert events.of(2105)[0]["level"] == "warning"
    failed = events.of(2104)[0]
    assert (failed["code"], failed["level"]) == ("capture_empty", "warning")
