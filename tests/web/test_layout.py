from flowtime.model import Edge, Semantics, Topology, TopologyNode
from flowtime.web.layout import GAP_X, MARGIN, NODE_HEIGHT, NODE_WIDTH, layout_graph, layout_topology


def _layers(layout):
    return {n.id: n.layer for n in layout.nodes}


def test_chain_is_laid_out_left_to_right_one_layer_per_hop():
    layout = layout_graph([("a", "service"), ("b", "queue"), ("c", "service")], [("a", "b"), ("b", "c")])

    assert _layers(layout) == {"a": 0, "b": 1, "c": 2}
    xs = [n.x for n in layout.nodes]
    assert xs == [MARGIN, MARGIN + NODE_WIDTH + GAP_X, MARGIN + 2 * (NODE_WIDTH + GAP_X)]
    assert len({n.y for n in layout.nodes}) == 1


def test_layer_is_the_longest_path_from_a_source():
    nodes = [
        ("in", "service"),
        ("fast", "service"),
        ("slow1", "service"),
        ("slow2", "service"),
        ("out", "service"),
    ]
    edges = [("in", "fast"), ("in", "slow1"), ("slow1", "slow2"), ("fast", "out"), ("slow2", "out")]

    assert _layers(layout_graph(nodes, edges))["out"] == 3


def test_cycle_edge_is_drawn_as_feedback_and_does_not_move_layers():
    layout = layout_graph([("a", "service"), ("b", "service")], [("a", "b"), ("b", "a")])

    assert _layers(layout) == {"a": 0, "b": 1}
    assert [(e.source, e.target, e.feedback) for e in layout.edges] == [("a", "b", False), ("b", "a", True)]
    feedback = layout.edges[1]
    lowest = max(n.y for n in layout.nodes) + NODE_HEIGHT
    control_y = float(feedback.path.split(" ")[1].split(",")[1])
    assert control_y > lowest  # routed below every node
    assert layout.height >= control_y


def test_self_loop_is_feedback():
    layout = layout_graph([("a", "queue")], [("a", "a")])

    assert layout.edges[0].feedback is True
    assert _layers(layout) == {"a": 0}


def test_ports_are_stripped_and_unknown_or_duplicate_edges_dropped():
    layout = layout_graph(
        [("a", "service"), ("b", "service")], [("a:out", "b:in"), ("a", "b"), ("a", "ghost"), ("ghost", "b")]
    )

    assert [(e.source, e.target) for e in layout.edges] == [("a", "b")]
    assert _layers(layout) == {"a": 0, "b": 1}


def test_forward_edge_runs_from_source_right_side_to_target_left_side():
    layout = layout_graph([("a", "service"), ("b", "service")], [("a", "b")])
    a, b = layout.nodes

    assert layout.edges[0].path == (
        f"M{a.x + NODE_WIDTH:g},{a.y + NODE_HEIGHT / 2:g} "
        f"C{(a.x + NODE_WIDTH + b.x) / 2:g},{a.y + NODE_HEIGHT / 2:g} "
        f"{(a.x + NODE_WIDTH + b.x) / 2:g},{b.y + NODE_HEIGHT / 2:g} {b.x:g},{b.y + NODE_HEIGHT / 2:g}"
    )


def test_barycentre_ordering_uncrosses_edges():
    # Topology order puts x1 above x2, but x2's parent is above x1's parent: the sweep swaps them.
    nodes = [("p1", "service"), ("p2", "service"), ("x2", "service"), ("x1", "service")]
    layout = layout_graph(nodes, [("p1", "x1"), ("p2", "x2")])
    y = {n.id: n.y for n in layout.nodes}

    assert y["p1"] < y["p2"]
    assert y["x1"] < y["x2"]


def test_nodes_keep_topology_order_in_the_result_and_fit_the_canvas():
    nodes = [(f"n{i}", "service") for i in range(20)]
    edges = [(f"n{i}", f"n{i + 1}") for i in range(0, 19, 2)] + [(f"n{i}", f"n{i + 2}") for i in range(0, 17, 3)]
    layout = layout_graph(nodes, edges)

    assert [n.id for n in layout.nodes] == [n for n, _ in nodes]
    assert all(n.x + NODE_WIDTH <= layout.width and n.y + NODE_HEIGHT <= layout.height for n in layout.nodes)
    positions = {(n.x, n.y) for n in layout.nodes}
    assert len(positions) == 20


def test_same_input_gives_the_same_layout():
    nodes = [("a", "service"), ("b", "queue"), ("c", "service"), ("d", "dlq")]
    edges = [("a", "b"), ("a", "c"), ("c", "d"), ("b", "d"), ("d", "a")]

    assert layout_graph(nodes, edges) == layout_graph(list(nodes), list(edges))


def test_vertical_centring_of_a_shorter_layer():
    layout = layout_graph([("a", "service"), ("b", "service"), ("c", "service")], [("a", "b"), ("a", "c")])
    y = {n.id: n.y for n in layout.nodes}

    assert y["a"] == (y["b"] + y["c"]) / 2


def test_empty_graph_has_only_margins():
    layout = layout_graph([], [])

    assert (layout.width, layout.height, layout.nodes, layout.edges) == (2 * MARGIN, 2 * MARGIN, (), ())


def test_layout_topology_uses_declared_kinds_and_edges():
    sem = Semantics(arrivals="x", served="x")
    topology = Topology(
        nodes=(
            TopologyNode("Api", "service", sem, declared_kind="service"),
            TopologyNode("Backlog", "service", sem, declared_kind="mystery"),
        ),
        edges=(Edge("Api", "Backlog"),),
    )
    layout = layout_topology(topology)

    assert [(n.id, n.kind, n.layer) for n in layout.nodes] == [
        ("Api", "service", 0),
        ("Backlog", "mystery", 1),
    ]


def test_binary_tree_is_drawn_without_crossings():
    nodes = [(f"N{i:02d}", "service") for i in range(20)]
    edges = [(f"N{(c - 1) // 2:02d}", f"N{c:02d}") for c in range(1, 20)]
    layout = layout_graph(nodes, edges)
    y = {n.id: n.y for n in layout.nodes}

    for depth in range(1, 5):
        members = sorted((n for n in layout.nodes if n.layer == depth), key=lambda n: n.y)
        parents = [y[f"N{(int(n.id[1:]) - 1) // 2:02d}"] for n in members]
        assert parents == sorted(parents)  # children appear in their parents' order: no edge crosses
