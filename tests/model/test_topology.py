"""Field rules of model.md §6.1–§6.2 for topology nodes, semantics and edges."""

from typing import Any

import pytest
from tests.model.factories import const, make_model, only, problems_of, topology_node

from flowtime.model import Edge, Semantics

CONSTS = (const("a", [1, 2, 3, 4]), const("b", [1, 1, 1, 1]), const("c", [0, 0, 0, 0]))


def problems(*nodes: dict[str, Any], **topology: Any) -> list[tuple[str, str, str | None]]:
    found = problems_of(*CONSTS, topology={"nodes": list(nodes), **topology})
    return [(p.code, p.message, p.path) for p in found]


def test_a_full_topology_node() -> None:
    node = {
        "id": "Checkout",
        "kind": "Service",
        "group": "web",
        "nodeRole": "worker",
        "ui": {"x": 120, "y": 40.5},
        "metadata": {"owner": "team-a"},
        "semantics": {
            "arrivals": "a",
            "served": "b",
            "errors": "c",
            "external_demand": "a",
            "capacity": "b",
            "slaMin": 30,
            "maxAttempts": 3,
            "aliases": {"served": "Done"},
        },
    }
    model = make_model(*CONSTS, topology={"nodes": [node, topology_node("Other", arrivals="a", served="b")]})
    assert model.warnings == ()
    assert model.topology is not None
    checkout = model.topology.nodes[0]
    assert (checkout.id, checkout.kind, checkout.declared_kind, checkout.group, checkout.node_role) == (
        "Checkout",
        "service",
        "Service",
        "web",
        "worker",
    )
    assert checkout.ui == {"x": 120.0, "y": 40.5}
    assert checkout.metadata == {"owner": "team-a"}
    assert checkout.semantics == Semantics(
        arrivals="a",
        served="b",
        errors="c",
        external_demand="a",
        capacity="b",
        sla_min=30.0,
        extra={"maxAttempts": 3, "aliases": {"served": "Done"}},
    )
    assert checkout.semantics.refs() == {
        "arrivals": "a",
        "served": "b",
        "errors": "c",
        "externalDemand": "a",
        "capacity": "b",
    }


def test_topology_and_its_lists_must_have_the_right_types() -> None:
    assert problems_of(*CONSTS, topology=[1])[0].message == "topology must be a mapping"
    assert problems(**{}) == []
    found = problems_of(*CONSTS, topology={"nodes": {"a": 1}, "edges": "x"})
    assert [p.message for p in found] == ["topology.nodes must be a list", "topology.edges must be a list"]


def test_missing_id_and_semantics() -> None:
    assert problems(
        {"kind": "service", "semantics": {"arrivals": "a", "served": "b"}},
        {"id": "T"},
        {"id": "U", "semantics": [1]},
    ) == [
        ("topology_invalid", "Topology nodes must specify an id", "topology.nodes[0].id"),
        ("topology_invalid", "Topology node 'T' must include semantics", "topology.nodes[1].semantics"),
        ("invalid_type", "topology.nodes[2].semantics must be a mapping", "topology.nodes[2].semantics"),
    ]


def test_arrivals_and_served_are_required() -> None:
    assert problems(topology_node("T", capacity="b")) == [
        (
            "topology_invalid",
            "Topology node 'T' must specify semantics.arrivals",
            "topology.nodes[0].semantics.arrivals",
        ),
        (
            "topology_invalid",
            "Topology node 'T' must specify semantics.served",
            "topology.nodes[0].semantics.served",
        ),
    ]


@pytest.mark.parametrize("kind", ["queue", "dlq", "serviceWithBuffer"])
def test_queue_kinds_may_use_capacity_instead_of_served(kind: str) -> None:
    assert problems(topology_node("T", kind, arrivals="a", capacity="b")) == []
    assert problems(topology_node("T", kind, arrivals="a"))[0][1] == "Topology node 'T' must specify semantics.served"


def test_an_unknown_kind_is_a_service_with_a_warning() -> None:
    model = make_model(*CONSTS, topology={"nodes": [topology_node("T", "Gateway", arrivals="a", served="b")]})
    assert model.topology is not None and model.topology.nodes[0].kind == "service"
    assert model.topology.nodes[0].declared_kind == "Gateway"
    (warning,) = model.warnings
    assert (warning.code, warning.message, warning.path, warning.node_id) == (
        "unknown_topology_kind",
        "Topology node 'T': unknown kind 'Gateway' is treated as 'service'",
        "topology.nodes[0].kind",
        "T",
    )


def test_ids_are_unique_ignoring_case_and_have_no_control_characters() -> None:
    ok = {"arrivals": "a", "served": "b"}
    found = problems(
        topology_node("Svc", **ok),
        topology_node("svc", **ok),
        topology_node("Svc", **ok),
        topology_node("a\tb", **ok),
        topology_node("x" * 201, **ok),
    )
    assert found == [
        (
            "topology_invalid",
            "Duplicate topology node id 'svc' (ids must differ in more than letter case; 'Svc' is declared earlier)",
            "topology.nodes[1].id",
        ),
        ("topology_invalid", "Duplicate topology node id 'Svc'", "topology.nodes[2].id"),
        (
            "topology_invalid",
            "Topology node id 'a\\tb' must not contain control characters",
            "topology.nodes[3].id",
        ),
        (
            "topology_invalid",
            "Topology node id '" + "x" * 59 + "…' is 201 characters long; the maximum is 200",
            "topology.nodes[4].id",
        ),
    ]


def test_topology_ids_may_hold_any_printable_text() -> None:
    assert problems(topology_node("Web API (eu-1)", arrivals="a", served="b")) == []


def test_aliases_are_interchangeable_but_must_agree() -> None:
    model = make_model(
        *CONSTS, topology={"nodes": [topology_node("T", arrivals="a", served="b", queue="c", queueDepth="c")]}
    )
    assert model.topology is not None and model.topology.nodes[0].semantics.queue_depth == "c"
    assert problems(topology_node("T", arrivals="a", served="b", externalDemand="a", external_demand="b")) == [
        (
            "topology_invalid",
            "Topology node 'T': semantics.externalDemand 'a' and semantics.external_demand 'b' differ "
            "(give only one of them)",
            "topology.nodes[0].semantics.external_demand",
        )
    ]


@pytest.mark.parametrize("sla", [0, -5, "soon", [1]])
def test_sla_must_be_positive(sla: object) -> None:
    assert problems(topology_node("T", arrivals="a", served="b", slaMin=sla)) == [
        (
            "topology_invalid",
            "Topology node 'T': semantics.slaMin must be a number > 0",
            "topology.nodes[0].semantics.slaMin",
        )
    ]


@pytest.mark.parametrize("ref", ["http://x/a.csv", "a b", "file://server/a.csv", "9lives"])
def test_a_reference_that_is_neither_an_id_nor_a_file_uri(ref: str) -> None:
    assert problems(topology_node("T", arrivals=ref, served="b")) == [
        (
            "uri_unsupported",
            f"Unsupported URI scheme for '{ref}'. Only file: URIs are supported.",
            "topology.nodes[0].semantics.arrivals",
        )
    ]


def test_file_semantics_are_checked_for_form_only() -> None:
    node = topology_node(
        "T",
        arrivals="file:missing.csv",
        served="file://telemetry/also_missing.csv",
        errors="file:///nowhere.csv",
    )
    model = make_model(*CONSTS, topology={"nodes": [node]})
    assert model.topology is not None and model.topology.nodes[0].semantics.arrivals == "file:missing.csv"


def test_unknown_semantic_references() -> None:
    found = problems_of(*CONSTS, topology={"nodes": [topology_node("T", arrivals="A", served="missing")]})
    assert [(p.code, p.message, p.path, p.node_id) for p in found] == [
        (
            "unknown_reference",
            "Node T: unknown node reference 'A' (node ids are case-sensitive; did you mean 'a'?)",
            "topology.nodes[0].semantics.arrivals",
            "T",
        ),
        (
            "unknown_reference",
            "Node T: unknown node reference 'missing'",
            "topology.nodes[0].semantics.served",
            "T",
        ),
    ]


def test_initial_condition_must_be_a_finite_non_negative_depth() -> None:
    for value in ({"queueDepth": -1}, {"queueDepth": ".inf"}, {}, 3):
        node = topology_node("T", "queue", arrivals="a", served="b") | {"initialCondition": value}
        assert problems(node) == [
            (
                "topology_invalid",
                "Topology node 'T': initialCondition.queueDepth must be a finite number >= 0",
                "topology.nodes[0].initialCondition.queueDepth",
            )
        ]


def test_wip_and_retry_keys_on_a_plain_service_are_unknown_keys() -> None:
    node = topology_node("T", arrivals="a", served="b", failures="c", retryEcho="echo", retryKernel=[1]) | {
        "wipLimit": 3,
        "wipOverflow": "loss",
    }
    model = make_model(*CONSTS, topology={"nodes": [node]})
    assert [w.path for w in model.warnings] == [
        "topology.nodes[0].semantics.failures",
        "topology.nodes[0].semantics.retryEcho",
        "topology.nodes[0].semantics.retryKernel",
        "topology.nodes[0].wipLimit",
        "topology.nodes[0].wipOverflow",
    ]
    assert {w.code for w in model.warnings} == {"unknown_key"}
    assert [c.id for c in model.columns] == ["a", "b", "c"]


def test_phase_two_node_keys_are_unsupported_when_used() -> None:
    node = topology_node("T", "queue", arrivals="a", served="b") | {
        "dispatchSchedule": {"kind": "periodic"},
        "constraints": ["c1"],
    }
    assert problems(node, constraints=[{"id": "c1"}]) == [
        (
            "unsupported_feature",
            "dispatchSchedule is not supported yet (planned)",
            "topology.nodes[0].dispatchSchedule",
        ),
        (
            "unsupported_feature",
            "constraints is not supported yet (planned)",
            "topology.nodes[0].constraints",
        ),
        (
            "unsupported_feature",
            "topology.constraints is not supported yet (planned)",
            "topology.constraints",
        ),
    ]
    assert problems(topology_node("T", arrivals="a", served="b") | {"constraints": []}, constraints=[]) == []


def test_unknown_keys_in_nodes_semantics_and_edges() -> None:
    node = topology_node("T", arrivals="a", served="b", colour="red") | {"label": "x"}
    found = problems(node, edges=[{"from": "T", "to": "T", "style": "dashed"}], layout="grid")
    assert [(code, path) for code, _, path in found] == [
        ("unknown_key", "topology.nodes[0].semantics.colour"),
        ("unknown_key", "topology.nodes[0].label"),
        ("unknown_key", "topology.edges[0].style"),
        ("unknown_key", "topology.layout"),
    ]


def test_ui_values_must_be_numbers() -> None:
    assert problems(topology_node("T", arrivals="a", served="b") | {"ui": {"x": "left"}}) == [
        ("invalid_value", "topology.nodes[0].ui.x must be a finite number", "topology.nodes[0].ui.x")
    ]


# ----------------------------------------------------------------------------------------------- edges


def two_nodes() -> list[dict[str, Any]]:
    return [topology_node("A", arrivals="a", served="b"), topology_node("B", arrivals="a", served="b")]


def test_edges() -> None:
    edges = [
        {
            "id": "e1",
            "from": "A",
            "to": "B",
            "weight": 0.7,
            "type": "flow",
            "measure": "served",
            "multiplier": 2,
            "lag": 1,
        },
        {"source": "A:out", "target": "B:in"},
    ]
    model = make_model(*CONSTS, topology={"nodes": two_nodes(), "edges": edges})
    assert model.topology is not None
    assert model.topology.edges == (Edge("A", "B", 0.7, "e1"), Edge("A", "B", 1.0, None))
    assert model.warnings == ()


@pytest.mark.parametrize(
    ("edge", "message", "path"),
    [
        ({"from": "A"}, "Topology edges must specify source and target", "topology.edges[0]"),
        ({"from": "A", "to": "C"}, "Topology edge references unknown node 'C'", "topology.edges[0].to"),
        (
            {"source": "Z:port", "to": "B"},
            "Topology edge references unknown node 'Z:port'",
            "topology.edges[0].source",
        ),
        (
            {"from": "A", "to": "B", "weight": -1},
            "Topology edge weight must be a finite number >= 0",
            "topology.edges[0].weight",
        ),
        (
            {"from": "A", "to": "B", "weight": "heavy"},
            "Topology edge weight must be a finite number >= 0",
            "topology.edges[0].weight",
        ),
        (
            {"from": "A", "source": "B", "to": "B"},
            "Topology edge from 'A' and source 'B' differ (give only one of them)",
            "topology.edges[0].source",
        ),
    ],
)
def test_edge_rules(edge: dict[str, Any], message: str, path: str) -> None:
    assert problems(*two_nodes(), edges=[edge]) == [("topology_invalid", message, path)]


def test_an_edge_may_name_a_node_whose_own_fields_are_broken() -> None:
    nodes = [topology_node("A", arrivals="a", served="b"), {"id": "B"}]
    found = problems(*nodes, edges=[{"from": "A", "to": "B"}])
    assert [m for _, m, _ in found] == ["Topology node 'B' must include semantics"]


def test_a_colon_in_a_node_id_is_matched_exactly_first() -> None:
    nodes = [topology_node("A:1", arrivals="a", served="b"), topology_node("B", arrivals="a", served="b")]
    model = make_model(*CONSTS, topology={"nodes": nodes, "edges": [{"from": "A:1", "to": "B:x"}]})
    assert model.topology is not None and model.topology.edges == (Edge("A:1", "B"),)


def test_only_one_problem_each() -> None:
    assert (
        only(problems_of(*CONSTS, topology={"nodes": [{"id": "T"}]}), "topology_invalid").path
        == "topology.nodes[0].semantics"
    )
