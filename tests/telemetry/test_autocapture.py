"""autocapture.json and the canonical parametersHash of telemetry.md §4."""

from __future__ import annotations

from flowtime.telemetry.autocapture import autocapture_document, canonical_json, parameters_hash

EXAMPLE = {
    "bins": 4,
    "binSize": 15,
    "errorRate": 0.05,
    "requestPattern": [30, 44, 52, 41],
    "serviceCapacity": 50,
    "telemetryRequestsSource": "",
}


def test_spec_example_text_and_hash() -> None:
    assert canonical_json(EXAMPLE) == (
        '{"binSize":15,"bins":4,"errorRate":0.05,"requestPattern":[30,44,52,41],"serviceCapacity":50,'
        '"telemetryRequestsSource":""}'
    )
    assert parameters_hash("http-service", "1.0.0", 123, EXAMPLE) == (
        "sha256:da725c6204c67aa7dc0acaaf406a74fa04cfb63112ae79cd8dcbea9b90c739da"
    )


def test_integral_floats_render_as_integers_so_the_hash_is_stable() -> None:
    as_floats = {**EXAMPLE, "bins": 4.0, "binSize": 15.0, "serviceCapacity": 50.0}
    assert parameters_hash("http-service", "1.0.0", 123, as_floats) == parameters_hash(
        "http-service", "1.0.0", 123, EXAMPLE
    )


def test_strings_escape_only_quote_backslash_and_controls_non_ascii_raw() -> None:
    assert canonical_json({"b": 'a"\\\n\x01é/', "a": [True, None, {"z": 1, "Z": 2}]}) == (
        '{"a":[true,null,{"Z":2,"z":1}],"b":"a\\"\\\\\\n\\u0001é/"}'
    )


def test_missing_template_strings_are_null() -> None:
    assert parameters_hash(None, None, 7, {}) == parameters_hash(None, None, 7, {})
    assert parameters_hash(None, None, 7, {}) != parameters_hash("", None, 7, {})


def test_document_keys_in_order_seed_defaults_to_123() -> None:
    doc = autocapture_document(
        metadata={"templateId": "http-service", "templateVersion": "1.0.0", "parameters": EXAMPLE},
        run_manifest={},
        run_json={"scenarioHash": "sha256:" + "1" * 64},
        source_run_id="run_1",
        capture_key=None,
        generated_at_utc="2026-03-02T08:31:50.020116Z",
    )
    assert doc == {
        "templateId": "http-service",
        "templateVersion": "1.0.0",
        "captureKey": None,
        "sourceRunId": "run_1",
        "generatedAtUtc": "2026-03-02T08:31:50.020116Z",
        "rngSeed": 123,
        "parametersHash": "sha256:da725c6204c67aa7dc0acaaf406a74fa04cfb63112ae79cd8dcbea9b90c739da",
        "scenarioHash": "sha256:" + "1" * 64,
    }
    assert list(doc) == list(doc.keys())


def test_document_takes_the_run_seed() -> None:
    doc = autocapture_document(
        metadata={},
        run_manifest={"rng": {"kind": "pcg32", "seed": 2024}},
        run_json={},
        source_run_id="r",
        capture_key="k/1",
        generated_at_utc="t",
    )
    assert doc["rngSeed"] == 2024 and doc["captureKey"] == "k/1" and doc["templateId"] is None
    assert doc["parametersHash"] == parameters_hash(None, None, 2024, {})
