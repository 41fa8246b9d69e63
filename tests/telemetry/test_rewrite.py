"""The structural replay rewrite: exact spans replaced, styles kept, every other byte unchanged."""

from __future__ import annotations

import pytest
import yaml

from flowtime.telemetry.metrics import ARRIVALS, CAPACITY, QUEUE_DEPTH, SERVED
from flowtime.telemetry.rewrite import (
    TelemetryFile,
    rewrite_for_telemetry,
    synthesized_queue_id,
    telemetry_uri,
)

CAPTURE = {
    "file:///cap/HttpService_arrivals.csv": "HttpService_arrivals.csv",
    "file:///cap/a.csv": "a.csv",
}


def lookup(uri: str) -> str | None:
    return CAPTURE.get(uri)


HTTP = """\
schemaVersion: 1
grid:
  bins: 4
  binSize: 15
  binUnit: minutes
nodes:
  - id: http_arrivals   # observed demand
    kind: const
    values: [1, 2, 3, 4]
  - id: request_queue
    kind: expr
    expr: "MAX(0, SHIFT(request_queue, 1) + http_arrivals - http_served)"
  - id: http_served
    kind: expr
    expr: MIN(http_arrivals, 3)
topology:
  nodes:
    - id: HttpService
      kind: service
      semantics:
        arrivals: http_arrivals
        served: http_served
    - id: RequestQueue
      kind: queue
      semantics:
        arrivals: http_arrivals
        served: http_served
        queue: request_queue
      initialCondition: { queueDepth: 0 }
outputs:
  - series: http_served
"""


def test_http_service_nodes_are_redefined_in_place_and_mode_inserted() -> None:
    files = [
        TelemetryFile("HttpService", ARRIVALS, "HttpService_arrivals.csv"),
        TelemetryFile("HttpService", SERVED, "HttpService_served.csv"),
        TelemetryFile("RequestQueue", ARRIVALS, "RequestQueue_arrivals.csv"),
        TelemetryFile("RequestQueue", QUEUE_DEPTH, "RequestQueue_queuedepth.csv"),
    ]
    result = rewrite_for_telemetry(HTTP, files, lookup)
    expected = HTTP.replace("schemaVersion: 1\n", "schemaVersion: 1\nmode: telemetry\n")
    expected = expected.replace(
        "id: http_arrivals   # observed demand\n    kind: const\n    values: [1, 2, 3, 4]",
        'id: http_arrivals\n    kind: const\n    source: "file://telemetry/HttpService_arrivals.csv"',
    )
    expected = expected.replace(
        'id: request_queue\n    kind: expr\n    expr: "MAX(0, SHIFT(request_queue, 1) + http_arrivals - http_served)"',
        'id: request_queue\n    kind: const\n    source: "file://telemetry/RequestQueue_queuedepth.csv"',
    )
    expected = expected.replace(
        "id: http_served\n    kind: expr\n    expr: MIN(http_arrivals, 3)",
        'id: http_served\n    kind: const\n    source: "file://telemetry/HttpService_served.csv"',
    )
    assert result.text == expected
    assert dict(result.replaced) == {"http_arrivals": 0, "http_served": 2, "request_queue": 1}
    assert dict(result.bound) == {
        "http_arrivals": "HttpService_arrivals.csv",
        "http_served": "HttpService_served.csv",
        "request_queue": "RequestQueue_queuedepth.csv",
    }
    assert result.duplicates == (("http_arrivals", "RequestQueue_arrivals.csv"),)
    assert yaml.safe_load(result.text)["mode"] == "telemetry"


def test_synthesized_queue_gets_a_semantic_and_an_appended_node() -> None:
    text = """\
schemaVersion: 1
mode: simulation
grid: {bins: 2, binSize: 1, binUnit: hours}
nodes:
  - id: inbound
    values: [1, 2]
  - id: cap
    values: [1, 1]
topology:
  nodes:
    - id: IntakeQueue
      kind: serviceWithBuffer
      semantics:
        arrivals: inbound
        capacity: cap
provenance:
  modelId: m1
  mode: 'simulation'
"""
    files = [TelemetryFile("IntakeQueue", QUEUE_DEPTH, "IntakeQueue_queuedepth.csv")]
    result = rewrite_for_telemetry(text, files, lookup)
    assert (
        result.text
        == """\
schemaVersion: 1
mode: telemetry
grid: {bins: 2, binSize: 1, binUnit: hours}
nodes:
  - id: inbound
    values: [1, 2]
  - id: cap
    values: [1, 1]
  - id: intake_queue_queue
    kind: const
    source: "file://telemetry/IntakeQueue_queuedepth.csv"
topology:
  nodes:
    - id: IntakeQueue
      kind: serviceWithBuffer
      semantics:
        arrivals: inbound
        capacity: cap
        queueDepth: intake_queue_queue
provenance:
  modelId: m1
  mode: 'telemetry'
"""
    )
    assert result.replaced == {}
    assert dict(result.bound) == {"intake_queue_queue": "IntakeQueue_queuedepth.csv"}


def test_flow_styles_are_kept_and_plain_scalars_in_flow_become_double_quoted() -> None:
    text = """\
schemaVersion: 1
grid: {bins: 2, binSize: 1, binUnit: hours}
nodes: [{id: a, kind: const, source: file:///cap/a.csv}, {id: b, kind: expr, expr: "a * 2"}]
topology:
  nodes:
    - {id: Svc, kind: queue, semantics: {arrivals: a, served: b, capacity: 'file:///cap/a.csv'}}
"""
    files = [
        TelemetryFile("Svc", SERVED, "Svc_served.csv"),
        TelemetryFile("Svc", QUEUE_DEPTH, "Svc_queuedepth.csv"),
        TelemetryFile("Svc", CAPACITY, "a.csv"),
    ]
    result = rewrite_for_telemetry(text, files, lookup)
    assert (
        result.text
        == """\
schemaVersion: 1
mode: telemetry
grid: {bins: 2, binSize: 1, binUnit: hours}
nodes: [{id: a, kind: const, source: "file://telemetry/a.csv"}, {id: b, kind: const, \
source: "file://telemetry/Svc_served.csv"}, {id: svc_queue, kind: const, source: \
"file://telemetry/Svc_queuedepth.csv"}]
topology:
  nodes:
    - {id: Svc, kind: queue, semantics: {arrivals: a, served: b, capacity: 'file://telemetry/a.csv', \
queueDepth: svc_queue}}
"""
    )


def test_block_source_keeps_plain_style_and_unrelated_uris_stay() -> None:
    text = """\
schemaVersion: 1
mode: Simulation
grid:
  bins: 2
  binSize: 1
  binUnit: hours
nodes:
  - id: a
    source: file:///cap/a.csv
  - id: other
    kind: const
    source: "file:///elsewhere/b.csv"
"""
    result = rewrite_for_telemetry(text, [], lookup)
    assert result.text == text.replace("file:///cap/a.csv", "file://telemetry/a.csv").replace(
        "mode: Simulation", "mode: telemetry"
    )


def test_mode_goes_first_without_schema_version_and_empty_scalar_gets_a_space() -> None:
    assert rewrite_for_telemetry("grid: {bins: 1}\n", [], lookup).text == "mode: telemetry\ngrid: {bins: 1}\n"
    assert rewrite_for_telemetry("schemaVersion: 1\nmode:\n", [], lookup).text == (
        "schemaVersion: 1\nmode: telemetry\n"
    )


def test_semantic_uri_pointing_into_capture_is_rewritten() -> None:
    text = (
        'schemaVersion: 1\ntopology:\n  nodes:\n    - id: S\n      semantics:\n        arrivals: "file:///cap/a.csv"\n'
    )
    files = [TelemetryFile("S", ARRIVALS, "a.csv")]
    result = rewrite_for_telemetry(text, files, lookup)
    assert '        arrivals: "file://telemetry/a.csv"\n' in result.text
    assert result.bound == {}


def test_missing_nodes_list_is_created_for_synthesized_queue() -> None:
    text = "schemaVersion: 1\ntopology:\n  nodes:\n    - id: DLQ\n      kind: dlq\n      semantics: {arrivals: x}\n"
    result = rewrite_for_telemetry(text, [TelemetryFile("DLQ", QUEUE_DEPTH, "q.csv")], lookup)
    assert result.text.endswith(
        "semantics: {arrivals: x, queueDepth: dlq_queue}\n"
        'nodes:\n  - id: dlq_queue\n    kind: const\n    source: "file://telemetry/q.csv"\n'
    )


def test_non_mapping_root_is_a_model_error() -> None:
    with pytest.raises(Exception, match="mapping") as info:
        rewrite_for_telemetry("- a\n", [], lookup)
    assert getattr(info.value, "code", None) == "model_invalid"


@pytest.mark.parametrize(
    ("node_id", "expected"),
    [("IntakeQueue", "intake_queue"), ("HTTPService", "http_service"), ("DLQ", "dlq"), ("a", "a")],
)
def test_synthesized_queue_id(node_id: str, expected: str) -> None:
    assert synthesized_queue_id(node_id) == expected + "_queue"


def test_telemetry_uri_escapes_only_what_a_uri_cannot_carry() -> None:
    assert telemetry_uri("HttpService_served.csv") == "file://telemetry/HttpService_served.csv"
    assert telemetry_uri("my file%.csv") == "file://telemetry/my%20file%25.csv"
