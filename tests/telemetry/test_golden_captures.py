"""Golden capture bundles of the systems templates, compared byte for byte (``tests/golden/telemetry``).

Regenerate after a deliberate change with ``FLOWTIME_UPDATE_GOLDENS=1`` and review the diff: every CSV
value, file name, warning and hash in these files is part of the contract with replay and the state API.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.telemetry.factories import simulate

from flowtime.artifacts import sha256_bytes
from flowtime.telemetry.capture import capture
from flowtime.telemetry.manifest import read_manifest

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "telemetry"
CAPTURED_AT = datetime(2026, 3, 2, 9, 12, 44, 318204, tzinfo=UTC)
TEMPLATES = ("order-system", "microservices", "http-service")


def _capture(tmp_path: Path, template_id: str) -> Path:
    run = simulate(tmp_path / "runs", template_id)
    out = tmp_path / "captures" / template_id
    capture(run, out, telemetry_root=tmp_path / "tel", roots=[tmp_path], gap_mode="warn", now=CAPTURED_AT)
    return out


@pytest.mark.parametrize("template_id", TEMPLATES)
def test_capture_matches_golden_bytes(tmp_path: Path, template_id: str) -> None:
    produced = _capture(tmp_path, template_id)
    golden = GOLDEN / template_id
    if os.environ.get("FLOWTIME_UPDATE_GOLDENS") == "1":
        shutil.rmtree(golden, ignore_errors=True)
        shutil.copytree(produced, golden)
    produced_files = {p.name: p.read_bytes() for p in sorted(produced.iterdir())}
    golden_files = {p.name: p.read_bytes() for p in sorted(golden.iterdir())}
    assert sorted(produced_files) == sorted(golden_files)
    for name, data in golden_files.items():
        assert produced_files[name] == data, f"{template_id}/{name} differs from its golden copy"


@pytest.mark.parametrize("template_id", TEMPLATES)
def test_golden_manifest_hashes_and_shape(template_id: str) -> None:
    golden = GOLDEN / template_id
    manifest = read_manifest(golden, label=template_id)
    assert manifest.files, "a golden capture must hold files"
    assert sorted(p.name for p in golden.iterdir()) == sorted([*(f.path for f in manifest.files), "manifest.json"])
    for f in manifest.files:
        data = (golden / f.path).read_bytes()
        assert sha256_bytes(data) == f.hash
        assert data.startswith(b"bin_index,value\n") and data.endswith(b"\n")
        assert data.count(b"\n") == f.points + 1
    raw = json.loads((golden / "manifest.json").read_text(encoding="utf-8"))
    assert raw["provenance"]["capturedAtUtc"] == "2026-03-02T09:12:44.318204Z"
    assert raw["provenance"]["runId"].startswith("run_deterministic_")


def test_golden_file_sets() -> None:
    names = {t: sorted(p.name for p in (GOLDEN / t).glob("*.csv")) for t in TEMPLATES}
    services = (
        "ApiGateway",
        "AuthService",
        "OrderService",
        "PaymentService",
        "InventoryService",
        "ShippingService",
    )
    metrics = ("arrivals", "served", "errors", "capacity")
    assert names["order-system"] == sorted(f"{s}_{m}.csv" for s in ("OrderService", "PaymentService") for m in metrics)
    assert names["microservices"] == sorted(f"{s}_{m}.csv" for s in services for m in metrics)
    assert names["http-service"] == sorted(
        [
            *(f"HttpService_{m}.csv" for m in metrics),
            "RequestQueue_arrivals.csv",
            "RequestQueue_served.csv",
            "RequestQueue_queuedepth.csv",
        ]
    )
