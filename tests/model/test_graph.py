"""Cycle detection, feedback groups and evaluation order (``model.md`` §8.2)."""

from __future__ import annotations

from collections import deque

from hypothesis import given, settings
from hypothesis import strategies as st

from flowtime.errors import Problem
from flowtime.model.graph import plan
from flowtime.model.spec import Component, Dependency

Columns = list[tuple[str, list[Dependency]]]


def cols(**deps: str) -> Columns:
    """Columns in keyword order; each value lists dependencies, ``~name`` marking a lagged one."""
    return [(name, [Dependency(d.lstrip("~"), d.startswith("~")) for d in spec.split()]) for name, spec in deps.items()]


def order(columns: Columns) -> list[list[str]]:
    components, problems = plan(columns)
    assert problems == []
    return [list(c.members) for c in components]


def test_no_columns() -> None:
    assert plan([]) == ((), [])


def test_example_c_mutual_feedback() -> None:
    columns = cols(requests="", retries="~failed", attempts="requests retries", failed="attempts")
    assert plan(columns) == (
        (Component(("requests",), False), Component(("retries", "attempts", "failed"), True)),
        [],
    )


def test_independent_columns_keep_declaration_order() -> None:
    assert order(cols(c="", a="", b="")) == [["c"], ["a"], ["b"]]


def test_chain_declared_backwards_is_evaluated_forwards() -> None:
    assert order(cols(d="c", c="b", b="a", a="")) == [["a"], ["b"], ["c"], ["d"]]


def test_diamond() -> None:
    assert order(cols(top="left right", left="base", right="base", base="")) == [
        ["base"],
        ["left"],
        ["right"],
        ["top"],
    ]


def test_fifo_kahn_not_depth_first_or_position_sorted() -> None:
    # Seeds a, c (by position); dequeuing a enqueues d behind c; then c releases b.
    assert order(cols(a="", b="c", c="", d="a")) == [["a"], ["c"], ["d"], ["b"]]


def test_dependents_are_visited_in_key_order() -> None:
    # Both x and w wait only for a; w has the smaller position, so it is enqueued first.
    assert order(cols(a="", w="a", b="", x="a")) == [["a"], ["b"], ["w"], ["x"]]


def test_self_shift_is_a_feedback_group() -> None:
    assert plan(cols(demand="", backlog="~backlog demand")) == (
        (Component(("demand",), False), Component(("backlog",), True)),
        [],
    )


def test_mutual_shift_group_members_follow_same_bin_edges() -> None:
    # b uses a in the same bin; a uses b lagged: a must come first inside the group.
    assert plan(cols(b="a", a="~b")) == ((Component(("a", "b"), True),), [])


def test_group_members_with_no_inner_same_bin_edges_keep_position_order() -> None:
    assert order(cols(y="~x", x="~y")) == [["y", "x"]]


def test_component_waits_for_all_prerequisites() -> None:
    assert order(cols(g1="~g2 late", g2="g1", late="src", src="")) == [["src"], ["late"], ["g1", "g2"]]


def test_same_bin_self_edge_is_a_cycle() -> None:
    components, problems = plan(cols(c="c"))
    assert components == (Component(("c",), False),)
    assert problems == [Problem("cycle", "Graph has a cycle involving nodes: c", nodes=("c",))]


def test_example_f_two_column_cycle() -> None:
    _, problems = plan(cols(demand="", served="demand", spill="demand", a="b", b="a"))
    assert problems == [Problem("cycle", "Graph has a cycle involving nodes: a, b", nodes=("a", "b"))]
    assert problems[0].path is None
    assert problems[0].node_id is None


def test_cycle_members_are_listed_in_position_order() -> None:
    _, problems = plan(cols(z="y", x="z", y="x"))
    assert [p.nodes for p in problems] == [("z", "x", "y")]
    assert problems[0].message == "Graph has a cycle involving nodes: z, x, y"


def test_one_problem_per_cycle_ordered_by_smallest_position() -> None:
    _, problems = plan(cols(p="", d="c", a="b", c="d", b="a", s="s"))
    assert [p.nodes for p in problems] == [("d", "c"), ("a", "b"), ("s",)]


def test_same_bin_cycle_inside_a_feedback_group() -> None:
    # G_all joins a, b, c; only b <-> c is same-bin.
    components, problems = plan(cols(a="~c", b="a c", c="b"))
    assert [p.nodes for p in problems] == [("b", "c")]
    assert components == (Component(("a", "b", "c"), True),)


def test_two_same_bin_cycles_joined_by_a_lagged_edge() -> None:
    components, problems = plan(cols(a="b ~d", b="a", c="d a", d="c"))
    assert [p.nodes for p in problems] == [("a", "b"), ("c", "d")]
    assert len(components) == 1


def test_same_bin_self_edge_inside_a_feedback_group() -> None:
    _, problems = plan(cols(a="~b a", b="a"))
    assert [p.nodes for p in problems] == [("a",)]


def test_columns_downstream_of_a_cycle_are_still_ordered() -> None:
    components, problems = plan(cols(out="a", a="b", b="a", other=""))
    assert [c.members for c in components] == [("a", "b"), ("other",), ("out",)]
    assert len(problems) == 1


def test_same_bin_mention_wins_over_lagged_mention() -> None:
    _, problems = plan(cols(x="~x x"))
    assert [p.nodes for p in problems] == [("x",)]
    assert plan(cols(x="~x ~x"))[0] == (Component(("x",), True),)


def test_duplicate_dependencies_count_once() -> None:
    assert order(cols(a="", b="a a a", c="b a b")) == [["a"], ["b"], ["c"]]


def test_unknown_dependencies_are_ignored() -> None:
    assert order(cols(a="ghost", b="a")) == [["a"], ["b"]]


def test_long_chain_declared_backwards_does_not_recurse() -> None:
    n = 100_000
    columns = [(f"c{i}", [Dependency(f"c{i + 1}", False)]) for i in range(n - 1)] + [(f"c{n - 1}", [])]
    components, problems = plan(columns)
    assert problems == []
    assert len(components) == n
    assert [c.members[0] for c in components[:3]] == [f"c{n - 1}", f"c{n - 2}", f"c{n - 3}"]


def test_long_feedback_ring_is_one_group() -> None:
    n = 100_000
    columns = [(f"c{i}", [Dependency(f"c{(i + 1) % n}", i == 0)]) for i in range(n)]
    components, problems = plan(columns)
    assert problems == []
    assert len(components) == 1
    assert components[0].feedback
    assert components[0].members[:3] == ("c0", f"c{n - 1}", f"c{n - 2}")


# ------------------------------------------------------------------ against a literal reading of §8.2


def _reference_plan(columns: Columns) -> tuple[list[tuple[tuple[str, ...], bool]], list[tuple[str, ...]]]:
    """§8.2 transcribed naively: reachability closures, sorted Kahn queues, no efficiency concerns."""
    n = len(columns)
    pos = {name: i for i, (name, _) in enumerate(columns)}
    same: set[tuple[int, int]] = set()  # (prerequisite, dependent)
    lagged: set[tuple[int, int]] = set()
    for i, (_, deps) in enumerate(columns):
        for d in deps:
            (lagged if d.lagged else same).add((pos[d.column], i))
    lagged -= same
    every = same | lagged

    def reach(edges: set[tuple[int, int]]) -> list[set[int]]:
        r = [{j for (i, j) in edges if i == v} for v in range(n)]
        for k in range(n):
            for v in range(n):
                if k in r[v]:
                    r[v] |= r[k]
        return r

    def sccs(edges: set[tuple[int, int]]) -> list[list[int]]:
        r = reach(edges)
        groups = {tuple(sorted({v} | {w for w in r[v] if v in r[w]})) for v in range(n)}
        return [list(g) for g in groups]

    cycles = sorted(tuple(columns[i][0] for i in g) for g in sccs(same) if len(g) > 1 or (g[0], g[0]) in same)
    cycles.sort(key=lambda names: pos[names[0]])

    def kahn(nodes: list[int], edges: set[tuple[int, int]], key: dict[int, int]) -> list[int]:
        waiting = {v: len({u for (u, w) in edges if w == v and u != v}) for v in nodes}
        queue = deque(sorted((v for v in nodes if waiting[v] == 0), key=key.get))
        out = []
        while queue:
            v = queue.popleft()
            out.append(v)
            for w in sorted({w for (u, w) in edges if u == v and w != v}, key=key.get):
                waiting[w] -= 1
                if waiting[w] == 0:
                    queue.append(w)
        return out

    groups = sccs(every)
    comp = {v: ci for ci, g in enumerate(groups) for v in g}
    comp_edges = {(comp[u], comp[w]) for (u, w) in every if comp[u] != comp[w]}
    keys = {ci: min(g) for ci, g in enumerate(groups)}
    result = []
    for ci in kahn(list(range(len(groups))), comp_edges, keys):
        g = groups[ci]
        inner = {(u, w) for (u, w) in same if u in g and w in g}
        members = kahn(g, inner, {v: v for v in g})
        members += [v for v in g if v not in members]
        feedback = len(g) > 1 or (g[0], g[0]) in lagged
        result.append((tuple(columns[v][0] for v in members), feedback))
    return result, cycles


@st.composite
def graphs(draw: st.DrawFn) -> Columns:
    n = draw(st.integers(1, 9))
    names = [f"n{i}" for i in range(n)]
    return [
        (name, draw(st.lists(st.builds(Dependency, st.sampled_from(names), st.booleans()), max_size=4)))
        for name in names
    ]


@settings(max_examples=200, deadline=None)
@given(graphs())
def test_plan_matches_the_literal_reading_of_the_spec(columns: Columns) -> None:
    components, problems = plan(columns)
    expected_components, expected_cycles = _reference_plan(columns)
    assert [(c.members, c.feedback) for c in components] == expected_components
    assert [p.nodes for p in problems] == expected_cycles


@st.composite
def acyclic_graphs(draw: st.DrawFn) -> Columns:
    """Random DAGs: a column may depend only on columns ranked before it in a random permutation."""
    n = draw(st.integers(1, 12))
    rank = draw(st.permutations(range(n)))
    columns: Columns = []
    for i in range(n):
        earlier = [f"n{j}" for j in range(n) if rank[j] < rank[i]]
        deps = (
            draw(st.lists(st.builds(Dependency, st.sampled_from(earlier), st.booleans()), max_size=3))
            if earlier
            else []
        )
        columns.append((f"n{i}", deps))
    return columns


@settings(max_examples=100, deadline=None)
@given(acyclic_graphs())
def test_without_feedback_the_order_is_plain_kahn_by_declaration(columns: Columns) -> None:
    components, problems = plan(columns)
    assert problems == []
    assert not any(c.feedback for c in components)
    dependents: list[set[int]] = [set() for _ in columns]
    waiting = [0] * len(columns)
    for i, (_, deps) in enumerate(columns):
        for prerequisite in {int(d.column[1:]) for d in deps}:
            dependents[prerequisite].add(i)
            waiting[i] += 1
    queue = deque(i for i in range(len(columns)) if waiting[i] == 0)
    expected = []
    while queue:
        v = queue.popleft()
        expected.append(columns[v][0])
        for w in sorted(dependents[v]):
            waiting[w] -= 1
            if waiting[w] == 0:
                queue.append(w)
    assert [c.members for c in components] == [(name,) for name in expected]
