"""Bindings: topology semantics first, outputs aliases as names and as a fallback, collisions, sanitising."""

from __future__ import annotations

from typing import Any

from flowtime.telemetry.bindings import IndexEntry, default_file_name, index_entries, plan_bindings
from flowtime.telemetry.metrics import ARRIVALS, EXTERNAL_DEMAND, QUEUE_DEPTH


def entries(*ids: str, points: int = 4) -> list[IndexEntry]:
    return [IndexEntry(f"{i}@{i.upper()}@DEFAULT", f"series/{i}@{i.upper()}@DEFAULT.csv", points) for i in ids]


def summary(raw: dict[str, Any], index: list[IndexEntry]) -> list[tuple[str, str, str, str]]:
    bindings, _ = plan_bindings(raw, index)
    return [(b.node_id, b.metric.name, b.source_series_id.split("@")[0], b.target_file_name) for b in bindings]


HTTP: dict[str, Any] = {
    "topology": {
        "nodes": [
            {
                "id": "HttpService",
                "semantics": {
                    "arrivals": "http_arrivals",
                    "served": "http_served",
                    "errors": "http_errors",
                    "capacity": "http_capacity",
                },
            },
            {
                "id": "RequestQueue",
                "kind": "queue",
                "semantics": {
                    "arrivals": "http_arrivals",
                    "served": "http_processed",
                    "queueDepth": "request_queue",
                },
            },
        ]
    },
    "outputs": [
        {"series": "http_arrivals", "as": "HttpService_arrivals.csv"},
        {"series": "http_served", "as": "HttpService_served"},
        {"series": "http_errors", "as": "HttpService_errors.csv"},
        {"series": "http_capacity", "as": "HttpService_capacity.csv"},
    ],
}


def test_http_service_binds_seven_files_in_declaration_and_metric_order() -> None:
    index = entries("http_arrivals", "http_served", "http_errors", "http_capacity", "http_processed", "request_queue")
    assert summary(HTTP, index) == [
        ("HttpService", "Arrivals", "http_arrivals", "HttpService_arrivals.csv"),
        ("HttpService", "Served", "http_served", "HttpService_served.csv"),
        ("HttpService", "Errors", "http_errors", "HttpService_errors.csv"),
        ("HttpService", "Capacity", "http_capacity", "HttpService_capacity.csv"),
        ("RequestQueue", "Arrivals", "http_arrivals", "RequestQueue_arrivals.csv"),
        ("RequestQueue", "Served", "http_processed", "RequestQueue_served.csv"),
        ("RequestQueue", "QueueDepth", "request_queue", "RequestQueue_queuedepth.csv"),
    ]


def test_synthesized_queue_stands_in_for_missing_queue_semantic_and_aliases_are_accepted() -> None:
    raw = {
        "topology": {
            "nodes": [
                {
                    "id": "IntakeQueue",
                    "kind": "ServiceWithBuffer",
                    "semantics": {"arrivals": "in", "queue": None},
                },
                {"id": "Edge", "semantics": {"external_demand": "demand", "arrivals": "file:///x.csv"}},
            ]
        }
    }
    bindings, warnings = plan_bindings(raw, entries("in", "intake_queue_queue", "demand"))
    assert [(b.node_id, b.metric, b.target_file_name) for b in bindings] == [
        ("IntakeQueue", ARRIVALS, "IntakeQueue_arrivals.csv"),
        ("IntakeQueue", QUEUE_DEPTH, "IntakeQueue_queuedepth.csv"),
        ("Edge", EXTERNAL_DEMAND, "Edge_externaldemand.csv"),
    ]
    assert warnings == []


def test_index_matching_is_case_insensitive_and_first_entry_wins() -> None:
    index = [
        IndexEntry("Calls@CALLS@DEFAULT", "series/first.csv", 4),
        IndexEntry("calls@CALLS@OTHER", "series/second.csv", 4),
    ]
    bindings, _ = plan_bindings({"topology": {"nodes": [{"id": "S", "semantics": {"arrivals": "CALLS"}}]}}, index)
    assert [b.source_path for b in bindings] == ["series/first.csv"]


def test_invalid_alias_is_ignored_with_warning_and_later_duplicate_keys_ignored() -> None:
    raw = {
        "topology": {"nodes": [{"id": "S", "semantics": {"arrivals": "a", "served": "b"}}]},
        "outputs": [
            {"series": "a", "as": "../escape.csv"},
            {"series": "b", "as": "B.csv"},
            {"series": "b", "as": "other.csv"},
            {"series": "*", "as": "all.csv"},
        ],
    }
    bindings, warnings = plan_bindings(raw, entries("a", "b"))
    assert [b.target_file_name for b in bindings] == ["S_arrivals.csv", "B.csv"]
    assert [w.to_json() for w in warnings] == [
        {
            "code": "alias_invalid",
            "message": "Output alias '../escape.csv' for series 'a' is not a plain file name; default name used.",
            "nodeId": "a",
        }
    ]


def test_collisions_fall_back_to_default_then_drop_with_binding_duplicate() -> None:
    raw = {
        "topology": {
            "nodes": [
                {"id": "S", "semantics": {"arrivals": "a", "served": "b"}},
                {"id": "S ", "semantics": {"arrivals": "a"}},
            ]
        },
        "outputs": [{"series": "b", "as": "s_ARRIVALS.csv"}],
    }
    bindings, warnings = plan_bindings(raw, entries("a", "b"))
    assert [b.target_file_name for b in bindings] == ["S_arrivals.csv", "S_served.csv"]
    assert [(w.code, w.node_id, w.message) for w in warnings] == [
        ("binding_duplicate", "S", "No free file name for S:Arrivals; binding skipped.")
    ]


def test_fallback_infers_metric_from_alias_suffix_when_topology_binds_nothing() -> None:
    raw = {
        "outputs": [
            {"series": "x", "as": "Checkout_Queue_Depth.csv"},
            {"series": "y", "as": "Web_external_demand"},
            {"series": "z", "as": "_served.csv"},
            {"series": "w", "as": "unrelated.csv"},
            {"series": "missing", "as": "M_arrivals.csv"},
        ]
    }
    assert summary(raw, entries("x", "y", "z", "w")) == [
        ("Checkout", "QueueDepth", "x", "Checkout_Queue_Depth.csv"),
        ("Web", "ExternalDemand", "y", "Web_external_demand.csv"),
    ]


def test_no_topology_and_no_outputs_bind_nothing() -> None:
    assert plan_bindings({}, entries("a")) == ([], [])


def test_default_name_sanitises_node_id() -> None:
    assert default_file_name("Order Service/v2", QUEUE_DEPTH) == "Order_Service_v2_queuedepth.csv"


def test_index_entries_default_points_and_path() -> None:
    raw = [
        {"id": "a@A@DEFAULT", "points": 0},
        {"id": "b", "path": "series/b.csv", "points": 3},
        {"nope": 1},
        "x",
    ]
    assert index_entries(raw, 8) == [
        IndexEntry("a@A@DEFAULT", "series/a@A@DEFAULT.csv", 8),
        IndexEntry("b", "series/b.csv", 3),
    ]


def test_aliases_follow_the_case_insensitive_index_match() -> None:
    index = [IndexEntry("Calls@CALLS@DEFAULT", "series/calls.csv", 4)]
    raw = {
        "topology": {"nodes": [{"id": "S", "semantics": {"arrivals": "calls"}}]},
        "outputs": [{"series": "CALLS", "as": "observed"}, {"series": "calls", "as": "later.csv"}],
    }
    assert summary(raw, index) == [("S", "Arrivals", "Calls", "observed.csv")]
    fallback = {"outputs": [{"series": "calls", "as": "Web_served.csv"}]}
    assert summary(fallback, index) == [("Web", "Served", "Calls", "Web_served.csv")]
