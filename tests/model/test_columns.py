"""Synthesized columns, references, dependencies and initial conditions (model.md §6.3–§6.5, §8.1, §8.3)."""

from typing import Any

import pytest
from tests.model.factories import codes, const, expr, make_model, only, problems_of, topology_node

from flowtime.model import (
    Component,
    ConstColumn,
    Dependency,
    ExprColumn,
    InflowFromColumn,
    Limits,
    OverflowColumn,
    QueueColumn,
    RetryEchoColumn,
    WipLimitColumn,
)

INPUTS = (
    const("inbound", [20, 20, 5, 0]),
    const("processed", [12, 12, 12, 12]),
    const("rejected", [1, 1, 0, 0]),
)


def queue_node(node_id: str, kind: str = "serviceWithBuffer", **fields: Any) -> dict[str, Any]:
    semantics = {"arrivals": "inbound", "served": "processed", "errors": "rejected"} | fields.pop("semantics", {})
    return {"id": node_id, "kind": kind, "semantics": semantics, **fields}


def ids(model: Any) -> list[str]:
    return [c.id for c in model.columns]


# ---------------------------------------------------------------------------------------- worked examples


def test_worked_example_d_synthesizes_the_queue_with_its_initial_condition() -> None:
    node = queue_node("IntakeQueue", initialCondition={"queueDepth": 3})
    model = make_model(*INPUTS, topology={"nodes": [node]})
    assert ids(model) == ["inbound", "processed", "rejected", "intake_queue_queue"]
    assert model.declared_count == 3
    assert model.columns[3] == QueueColumn(
        id="intake_queue_queue",
        inflow="inbound",
        outflow="processed",
        loss="rejected",
        initial=3.0,
        topology_node="IntakeQueue",
        deps=(Dependency("inbound", False), Dependency("processed", False), Dependency("rejected", False)),
    )
    assert dict(model.initial_conditions) == {"intake_queue_queue": 3.0}
    assert model.topology is not None and model.topology.nodes[0].queue_column == "intake_queue_queue"
    assert model.order == ("inbound", "processed", "rejected", "intake_queue_queue")


EXAMPLE_B = (
    const("demand", [8, 8, 8, 2, 2]),
    const("capacity", [5, 5, 5, 5, 5]),
    expr("backlog", "MAX(0, SHIFT(backlog, 1) + demand - capacity)"),
)


def test_worked_example_b_a_declared_queue_depth_node_is_not_synthesized() -> None:
    node = topology_node("Backlog", "queue", arrivals="demand", served="capacity", queueDepth="backlog")
    node["initialCondition"] = {"queueDepth": 4}
    model = make_model(*EXAMPLE_B, bins=5, topology={"nodes": [node]})
    assert ids(model) == ["demand", "capacity", "backlog"]
    assert dict(model.initial_conditions) == {"backlog": 4.0}
    assert model.topology is not None and model.topology.nodes[0].queue_column == "backlog"
    assert model.components[-1] == Component(("backlog",), True)
    assert model.columns[2].deps == (  # type: ignore[union-attr]
        Dependency("backlog", True),
        Dependency("demand", False),
        Dependency("capacity", False),
    )


def test_worked_example_b_without_initial_condition_fails_the_self_shift_rule() -> None:
    node = topology_node("Backlog", "queue", arrivals="demand", served="capacity", queueDepth="backlog")
    (problem,) = problems_of(*EXAMPLE_B, bins=5, topology={"nodes": [node]})
    assert (problem.code, problem.path, problem.node_id) == (
        "self_shift_requires_initial_condition",
        "nodes[2].expr",
        "backlog",
    )
    assert problem.message == (
        "Expression node 'backlog' uses SHIFT on itself and requires an initial condition "
        "(topology.nodes[].initialCondition.queueDepth)."
    )


def test_self_shift_with_lag_zero_or_a_compound_argument_needs_no_initial_condition() -> None:
    assert codes(problems_of(const("a", [1, 1]), expr("x", "SHIFT(x + a, 1) + a"), bins=2)) == []
    assert codes(problems_of(const("a", [1, 1]), expr("x", "SHIFT(x, 0) + a"), bins=2)) == ["cycle"]


def test_worked_example_c_feedback_group_order() -> None:
    model = make_model(
        const("requests", [100, 100, 100, 100]),
        expr("retries", "SHIFT(failed, 1) * 0.5"),
        expr("attempts", "requests + retries"),
        expr("failed", "attempts * 0.25"),
    )
    assert model.components == (
        Component(("requests",), False),
        Component(("retries", "attempts", "failed"), True),
    )


# ------------------------------------------------------------------------------------------ dependencies


def test_a_reference_is_lagged_only_when_every_occurrence_is() -> None:
    model = make_model(
        const("a", [1, 2, 3, 4]),
        const("b", [1, 2, 3, 4]),
        expr("x", "SHIFT(a, 1) + a + SHIFT(b, 2) + SHIFT(b, 1) + SHIFT(a, 0)"),
    )
    assert model.columns[2].deps == (Dependency("a", False), Dependency("b", True))  # type: ignore[union-attr]


def test_unknown_references_are_reported_once_each_with_position_and_hint() -> None:
    problems = problems_of(const("Demand", [1, 2, 3, 4]), expr("x", "demand + nope * demand + nope"))
    assert [(p.code, p.message, p.position, p.path) for p in problems] == [
        (
            "unknown_reference",
            "Node x: unknown node reference 'demand' (node ids are case-sensitive; did you mean 'Demand'?)",
            0,
            "nodes[1].expr",
        ),
        ("unknown_reference", "Node x: unknown node reference 'nope'", 9, "nodes[1].expr"),
    ]


def test_an_expression_that_does_not_parse_is_not_reference_checked() -> None:
    assert codes(problems_of(expr("x", "nope +"))) == ["expr_parse_error"]


def test_cycles_run_over_the_references_that_resolved() -> None:
    problems = problems_of(expr("a", "b + missing"), expr("b", "a"))
    assert codes(problems) == ["unknown_reference", "cycle"]
    assert problems[-1].nodes == ("a", "b")


def test_a_same_bin_self_reference_is_a_cycle() -> None:
    (problem,) = problems_of(expr("x", "x + 1"))
    assert (problem.code, problem.message, problem.nodes) == (
        "cycle",
        "Graph has a cycle involving nodes: x",
        ("x",),
    )


# --------------------------------------------------------------------------------- serviceWithBuffer nodes


def test_a_declared_service_with_buffer_node_and_its_wip_columns() -> None:
    node = {
        "id": "Buf",
        "kind": "serviceWithBuffer",
        "inflow": "inbound",
        "outflow": "processed",
        "loss": "rejected",
        "wipLimit": 5,
    }
    topology = {
        "nodes": [
            topology_node("B", "queue", arrivals="inbound", served="processed", queueDepth="Buf")
            | {"initialCondition": {"queueDepth": 2}}
        ]
    }
    model = make_model(*INPUTS, node, topology=topology)
    assert ids(model) == ["inbound", "processed", "rejected", "Buf", "Buf_wip_limit", "Buf_overflow"]
    assert model.columns[3] == QueueColumn(
        id="Buf",
        inflow="inbound",
        outflow="processed",
        loss="rejected",
        initial=2.0,
        limit=5.0,
        overflow="Buf_overflow",
        declared=True,
        deps=(Dependency("inbound", False), Dependency("processed", False), Dependency("rejected", False)),
    )
    assert model.columns[4] == WipLimitColumn("Buf_wip_limit", 5.0)
    assert model.columns[5] == OverflowColumn("Buf_overflow", "Buf", (Dependency("Buf", False),))


def test_a_limit_series_wins_over_the_scalar_and_creates_no_limit_column() -> None:
    node = {
        "id": "buf",
        "kind": "serviceWithBuffer",
        "inflow": "inbound",
        "outflow": "processed",
        "wipLimit": 5,
        "wipLimitSeries": "rejected",
    }
    model = make_model(*INPUTS, node)
    assert ids(model)[3:] == ["buf", "buf_overflow"]
    column = model.columns[3]
    assert isinstance(column, QueueColumn)
    assert (column.limit, column.limit_series) == (None, "rejected")
    assert Dependency("rejected", False) in column.deps


def test_service_with_buffer_references_must_name_columns() -> None:
    node = {
        "id": "buf",
        "kind": "serviceWithBuffer",
        "inflow": "Inbound",
        "outflow": "processed",
        "wipLimitSeries": "lim",
    }
    assert [(p.message, p.path) for p in problems_of(*INPUTS, node)] == [
        (
            "Node buf: unknown node reference 'Inbound' (node ids are case-sensitive; did you mean 'inbound'?)",
            "nodes[3].inflow",
        ),
        ("Node buf: unknown node reference 'lim'", "nodes[3].wipLimitSeries"),
    ]


def test_a_synthesized_column_of_a_node_colliding_with_a_declared_one() -> None:
    node = {
        "id": "buf",
        "kind": "serviceWithBuffer",
        "inflow": "inbound",
        "outflow": "processed",
        "wipLimit": 1,
    }
    problem = only(problems_of(*INPUTS, node, const("buf_overflow", [0, 0, 0, 0])), "duplicate_id")
    assert problem.message == "Node buf: the column id 'buf_overflow' it creates is already used by 'buf_overflow'"
    assert problem.path == "nodes[3]"


# ------------------------------------------------------------------------------------- synthesized queues


@pytest.mark.parametrize("kind", ["queue", "dlq", "serviceWithBuffer", "Queue"])
def test_queue_kinds_synthesize_a_queue(kind: str) -> None:
    model = make_model(*INPUTS, topology={"nodes": [queue_node("DLQ", kind)]})
    assert ids(model)[3:] == ["dlq_queue"]


def test_a_service_synthesizes_nothing() -> None:
    model = make_model(*INPUTS, topology={"nodes": [queue_node("Svc", "service")]})
    assert ids(model) == ["inbound", "processed", "rejected"]
    assert model.topology is not None and model.topology.nodes[0].queue_column is None


def test_an_explicit_queue_depth_names_the_synthesized_queue() -> None:
    model = make_model(*INPUTS, topology={"nodes": [queue_node("Orders", semantics={"queueDepth": "orders_q"})]})
    assert ids(model)[3:] == ["orders_q"]
    assert model.topology is not None and model.topology.nodes[0].queue_column == "orders_q"


def test_capacity_is_the_outflow_when_served_is_absent() -> None:
    node = {"id": "Q", "kind": "queue", "semantics": {"arrivals": "inbound", "capacity": "processed"}}
    column = make_model(*INPUTS, topology={"nodes": [node]}).columns[3]
    assert isinstance(column, QueueColumn) and (column.outflow, column.loss) == ("processed", None)


@pytest.mark.parametrize("key", ["arrivals", "served", "errors", "queueDepth"])
def test_telemetry_backed_nodes_synthesize_nothing(key: str) -> None:
    node = queue_node("Q", semantics={key: "file:q.csv"})
    model = make_model(*INPUTS, topology={"nodes": [node]})
    assert ids(model) == ["inbound", "processed", "rejected"]
    assert model.topology is not None and model.topology.nodes[0].queue_column is None


def test_a_synthesized_queue_id_must_be_free() -> None:
    problems = problems_of(*INPUTS, const("Intake_Queue", [0, 0, 0, 0]), topology={"nodes": [queue_node("Intake")]})
    problem = only(problems, "topology_invalid")
    assert problem.message == (
        "Topology node 'Intake': the column id 'intake_queue' it creates is already used by 'Intake_Queue' "
        "(set semantics.queueDepth explicitly)"
    )
    assert (problem.path, problem.node_id) == ("topology.nodes[0]", "Intake")


def test_a_synthesized_queue_id_must_be_a_valid_id() -> None:
    problem = only(problems_of(*INPUTS, topology={"nodes": [queue_node("Web API")]}), "topology_invalid")
    assert problem.message == (
        "Topology node 'Web API': the column id 'web _api_queue' it creates is not a valid node id "
        "(set semantics.queueDepth explicitly)"
    )


def test_two_nodes_cannot_synthesize_the_same_queue() -> None:
    nodes = [queue_node("A", semantics={"queueDepth": "q"}), queue_node("B", semantics={"queueDepth": "q"})]
    problem = only(problems_of(*INPUTS, topology={"nodes": nodes}), "topology_invalid")
    assert problem.path == "topology.nodes[1].semantics.queueDepth"


def test_expressions_and_semantics_may_reference_synthesized_columns() -> None:
    nodes = [queue_node("Intake"), topology_node("Next", arrivals="intake_queue", served="processed")]
    model = make_model(*INPUTS, expr("depth_x2", "intake_queue * 2"), topology={"nodes": nodes})
    assert model.columns[3].deps == (Dependency("intake_queue", False),)  # type: ignore[union-attr]
    assert model.order.index("intake_queue") < model.order.index("depth_x2")


# --------------------------------------------------------------------------------- WIP limits and overflow


def test_wip_limit_columns_of_a_synthesized_queue() -> None:
    model = make_model(*INPUTS, topology={"nodes": [queue_node("Worker", wipLimit=15)]})
    assert ids(model)[3:] == ["worker_queue", "worker_wip_limit", "worker_overflow"]
    queue = model.columns[3]
    assert isinstance(queue, QueueColumn) and (queue.limit, queue.overflow) == (15.0, "worker_overflow")
    assert model.columns[5] == OverflowColumn("worker_overflow", "worker_queue", (Dependency("worker_queue", False),))


def test_overflow_chains_in_topology_then_declaration_order() -> None:
    buffer = {
        "id": "Buf",
        "kind": "serviceWithBuffer",
        "inflow": "inbound",
        "outflow": "processed",
        "wipLimit": 1,
        "wipOverflow": "Target",
    }
    nodes = [
        queue_node("Target", "queue"),
        queue_node("SrcOne", wipLimit=2, wipOverflow="Target"),
        queue_node("SrcTwo", wipLimitSeries="rejected", wipOverflow="Target"),
        queue_node("Dropper", wipLimit=2, wipOverflow="loss"),
        queue_node("NoLimit", wipOverflow="Target"),
    ]
    model = make_model(*INPUTS, buffer, topology={"nodes": nodes})
    assert ids(model)[3:] == [
        "Buf",
        "Buf_wip_limit",
        "Buf_overflow",
        "target_queue",
        "target_inflow_from_src_one",
        "target_inflow_from_src_two",
        "target_inflow_from_Buf",
        "src_one_queue",
        "src_one_wip_limit",
        "src_one_overflow",
        "src_two_queue",
        "src_two_overflow",
        "dropper_queue",
        "dropper_wip_limit",
        "dropper_overflow",
        "no_limit_queue",
    ]
    columns = {c.id: c for c in model.columns}
    assert columns["target_inflow_from_src_one"] == InflowFromColumn(
        "target_inflow_from_src_one",
        "inbound",
        "src_one_overflow",
        (Dependency("src_one_overflow", False), Dependency("inbound", False)),
    )
    assert columns["target_inflow_from_src_two"].base == "target_inflow_from_src_one"  # type: ignore[union-attr]
    assert columns["target_inflow_from_Buf"].overflow == "Buf_overflow"  # type: ignore[union-attr]
    assert columns["target_queue"].inflow == "target_inflow_from_Buf"  # type: ignore[union-attr]
    order = model.order
    assert order.index("src_one_overflow") < order.index("target_inflow_from_src_one") < order.index("target_queue")


def test_overflow_to_a_node_without_a_synthesized_queue_is_dropped() -> None:
    nodes = [
        queue_node("Target", "queue", semantics={"queueDepth": "rejected"}),
        queue_node("Src", wipLimit=2, wipOverflow="Target"),
    ]
    model = make_model(*INPUTS, topology={"nodes": nodes})
    assert ids(model)[3:] == ["src_queue", "src_wip_limit", "src_overflow"]


@pytest.mark.parametrize("target", ["Svc", "Nowhere", "Src", "LOSS"])
def test_an_overflow_target_must_be_another_queue_node_or_loss(target: str) -> None:
    nodes = [
        topology_node("Svc", arrivals="inbound", served="processed"),
        queue_node("Src", wipLimit=2, wipOverflow=target),
    ]
    problem = only(problems_of(*INPUTS, topology={"nodes": nodes}), "topology_invalid")
    assert problem.message == (
        f"Topology node 'Src': wipOverflow '{target}' must name another topology node of kind "
        "serviceWithBuffer, queue or dlq, or be 'loss'"
    )
    assert problem.path == "topology.nodes[1].wipOverflow"


def test_an_overflow_loop_is_a_cycle() -> None:
    nodes = [queue_node("A", wipLimit=1, wipOverflow="B"), queue_node("B", wipLimit=1, wipOverflow="A")]
    (problem,) = problems_of(*INPUTS, topology={"nodes": nodes})
    assert problem.code == "cycle"
    assert set(problem.nodes or ()) == {
        "a_queue",
        "a_overflow",
        "b_queue",
        "b_overflow",
        "a_inflow_from_b",
        "b_inflow_from_a",
    }


def test_topology_wip_limit_rules() -> None:
    problems = problems_of(*INPUTS, topology={"nodes": [queue_node("Q", wipLimit="lots", wipLimitSeries="nope")]})
    assert [(p.code, p.message, p.path) for p in problems] == [
        (
            "topology_invalid",
            "Topology node 'Q': wipLimit must be a finite number >= 0",
            "topology.nodes[0].wipLimit",
        ),
        ("unknown_reference", "Node Q: unknown node reference 'nope'", "topology.nodes[0].wipLimitSeries"),
    ]


# ------------------------------------------------------------------------------------------- retry echo


def test_retry_echo_uses_failures_else_errors() -> None:
    echo = {"retryEcho": "echo", "retryKernel": [0.0, 0.6, 0.3, 0.1]}
    model = make_model(*INPUTS, topology={"nodes": [queue_node("Q", semantics=echo)]})
    assert ids(model)[3:] == ["q_queue", "echo"]
    assert model.columns[4] == RetryEchoColumn(
        "echo", "rejected", (0.0, 0.6, 0.3, 0.1), (Dependency("rejected", False),)
    )
    with_failures = make_model(*INPUTS, topology={"nodes": [queue_node("Q", semantics=echo | {"failures": "inbound"})]})
    assert with_failures.columns[4].failures == "inbound"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("semantics", "message", "path"),
    [
        (
            {"retryEcho": "echo"},
            "Topology node 'Q': semantics.retryEcho and semantics.retryKernel must be given together "
            "(semantics.retryKernel is missing)",
            "topology.nodes[0].semantics.retryKernel",
        ),
        (
            {"retryKernel": [1]},
            "Topology node 'Q': semantics.retryEcho and semantics.retryKernel must be given together "
            "(semantics.retryEcho is missing)",
            "topology.nodes[0].semantics.retryEcho",
        ),
        (
            {"retryEcho": "echo", "retryKernel": [1, ".nan"]},
            "Topology node 'Q': semantics.retryKernel must be a list of finite numbers",
            "topology.nodes[0].semantics.retryKernel",
        ),
        (
            {"retryEcho": "inbound", "retryKernel": [1]},
            "Topology node 'Q': the column id 'inbound' it creates is already used by 'inbound'",
            "topology.nodes[0].semantics.retryEcho",
        ),
        (
            {"retryEcho": "echo", "retryKernel": [1], "errors": None},
            "Topology node 'Q': the retry echo needs semantics.failures or semantics.errors naming a column",
            "topology.nodes[0].semantics.retryEcho",
        ),
        (
            {"retryEcho": "echo", "retryKernel": [1], "failures": "file:failures.csv"},
            "Topology node 'Q': the retry echo needs semantics.failures or semantics.errors naming a column",
            "topology.nodes[0].semantics.retryEcho",
        ),
    ],
)
def test_retry_echo_rules(semantics: dict[str, Any], message: str, path: str) -> None:
    node = queue_node("Q", semantics=semantics)
    problems = [p for p in problems_of(*INPUTS, topology={"nodes": [node]}) if p.code == "topology_invalid"]
    assert [(p.message, p.path) for p in problems] == [(message, path)]


# ----------------------------------------------------------------------------------- initial conditions


def test_initial_conditions_by_id_queue_depth_and_synthesized_queue() -> None:
    nodes = [
        topology_node("backlog_src", arrivals="inbound", served="processed") | {"initialCondition": {"queueDepth": 1}},
        queue_node("Held", semantics={"queueDepth": "held"}) | {"initialCondition": {"queueDepth": 2}},
        queue_node("Auto") | {"initialCondition": {"queueDepth": 0}},
    ]
    model = make_model(*INPUTS, expr("backlog_src", "SHIFT(backlog_src, 1) + 1"), topology={"nodes": nodes})
    assert dict(model.initial_conditions) == {"backlog_src": 1.0, "held": 2.0, "auto_queue": 0.0}
    assert model.columns[4].initial == 2.0  # type: ignore[union-attr]


def test_conflicting_initial_conditions() -> None:
    nodes = [
        topology_node("x", arrivals="inbound", served="processed") | {"initialCondition": {"queueDepth": 1}},
        topology_node("Other", arrivals="inbound", served="processed", queueDepth="x")
        | {"initialCondition": {"queueDepth": 2}},
    ]
    problem = only(problems_of(*INPUTS, expr("x", "1"), topology={"nodes": nodes}), "topology_invalid")
    assert problem.message == "Topology node 'Other': conflicting initial conditions for 'x' (1 and 2)"
    assert problem.path == "topology.nodes[1].initialCondition.queueDepth"


# ------------------------------------------------------------------------------------------- limits


def test_column_limit_counts_synthesized_columns() -> None:
    (problem,) = problems_of(*INPUTS, topology={"nodes": [queue_node("Q")]}, limits=Limits(max_columns=3))
    assert (problem.code, problem.message, problem.path) == (
        "limit_exceeded",
        "Model has 4 columns; the maximum is 3",
        None,
    )


def test_declared_nodes_beyond_the_column_limit_are_not_checked_one_by_one() -> None:
    (problem,) = problems_of(*INPUTS, expr("x", "nope"), limits=Limits(max_columns=3))
    assert (problem.code, problem.message, problem.path) == (
        "limit_exceeded",
        "Model has 4 nodes; the maximum is 3 columns",
        "nodes",
    )


def test_cell_limit() -> None:
    (problem,) = problems_of(*INPUTS, limits=Limits(max_cells=11))
    assert problem.message == "Model has 4 bins x 3 columns = 12 values; the maximum is 11"


def test_columns_have_the_spec_types() -> None:
    model = make_model(*INPUTS, expr("e", "inbound"))
    assert [type(c) for c in model.columns] == [ConstColumn, ConstColumn, ConstColumn, ExprColumn]


def test_self_shift_rule_and_same_bin_self_reference_are_both_reported() -> None:
    assert codes(problems_of(expr("x", "SHIFT(x, 1) + x"))) == ["self_shift_requires_initial_condition", "cycle"]
