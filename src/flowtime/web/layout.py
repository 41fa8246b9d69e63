"""Layered left-to-right layout of a topology graph, computed on the server and drawn as SVG."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flowtime.model import Topology

NODE_WIDTH = 160
NODE_HEIGHT = 64
GAP_X = 56
GAP_Y = 28
MARGIN = 24
_SWEEPS = 4


@dataclass(frozen=True, slots=True)
class PlacedNode:
    """A node's box: ``x``, ``y`` are its top-left corner in SVG user units."""

    id: str
    kind: str
    layer: int
    slot: int
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class PlacedEdge:
    """An edge as an SVG path; ``feedback`` edges point backwards (or sideways) and are routed below."""

    source: str
    target: str
    path: str
    feedback: bool


@dataclass(frozen=True, slots=True)
class GraphLayout:
    width: float
    height: float
    node_width: float
    node_height: float
    nodes: tuple[PlacedNode, ...]
    edges: tuple[PlacedEdge, ...]


def layout_graph(nodes: Sequence[tuple[str, str]], edges: Iterable[tuple[str, str]]) -> GraphLayout:
    """Place ``(id, kind)`` nodes in layers by longest path along ``(source, target)`` edges.

    Stable: the same nodes and edges in the same order give the same picture. Edges that close a
    cycle (found by depth-first search in node order) do not constrain layers and are drawn as
    feedback arcs. Endpoints written ``Node:port`` name ``Node``; edges to unknown nodes are dropped.
    Within a layer nodes start in topology order and are then reordered by the barycentre of their
    neighbours, which removes most crossings for the small graphs FlowTime draws.
    """
    ids = [node_id for node_id, _ in nodes]
    index = {node_id: i for i, node_id in enumerate(ids)}
    pairs = _known_edges(edges, index)
    forward, feedback = _split_feedback(len(ids), [(index[s], index[t]) for s, t in pairs])
    layer = _longest_path_layers(len(ids), forward)
    layers = _order_layers(layer, forward)

    tallest = max((len(members) for members in layers), default=0)
    step_y = NODE_HEIGHT + GAP_Y
    slot_of: dict[int, int] = {}
    placed: list[PlacedNode] = []
    for depth, members in enumerate(layers):
        offset = (tallest - len(members)) * step_y / 2
        for slot, i in enumerate(members):
            slot_of[i] = slot
            x = MARGIN + depth * (NODE_WIDTH + GAP_X)
            y = MARGIN + offset + slot * step_y
            placed.append(PlacedNode(ids[i], nodes[i][1], depth, slot, x, y))
    by_index = {index[p.id]: p for p in placed}
    placed.sort(key=lambda p: index[p.id])

    height = MARGIN * 2 + max(tallest * step_y - GAP_Y, 0)
    drawn: list[PlacedEdge] = []
    for s, t in [(index[s], index[t]) for s, t in pairs]:
        if (s, t) in feedback:
            drawn.append(PlacedEdge(ids[s], ids[t], _feedback_path(by_index[s], by_index[t], height), True))
        else:
            drawn.append(PlacedEdge(ids[s], ids[t], _forward_path(by_index[s], by_index[t]), False))
    has_feedback = any(e.feedback for e in drawn)
    width = MARGIN * 2 + max(len(layers) * (NODE_WIDTH + GAP_X) - GAP_X, 0)
    return GraphLayout(
        width=width,
        height=height + (GAP_Y * 2 if has_feedback else 0),
        node_width=NODE_WIDTH,
        node_height=NODE_HEIGHT,
        nodes=tuple(placed),
        edges=tuple(drawn),
    )


def layout_topology(topology: Topology) -> GraphLayout:
    """``layout_graph`` over a model's topology nodes (declared kinds) and edges."""
    return layout_graph(
        [(n.id, n.declared_kind or n.kind) for n in topology.nodes],
        [(e.source, e.target) for e in topology.edges],
    )


def _known_edges(edges: Iterable[tuple[str, str]], index: dict[str, int]) -> list[tuple[str, str]]:
    known: list[tuple[str, str]] = []
    for source, target in edges:
        s, t = source.split(":", 1)[0], target.split(":", 1)[0]
        if s in index and t in index and (s, t) not in known:
            known.append((s, t))
    return known


def _split_feedback(count: int, pairs: list[tuple[int, int]]) -> tuple[list[tuple[int, int]], set[tuple[int, int]]]:
    """Depth-first search in node order; an edge into a node still on the stack closes a cycle."""
    out: dict[int, list[int]] = {i: [] for i in range(count)}
    for s, t in pairs:
        out[s].append(t)
    state = [0] * count  # 0 unseen, 1 on stack, 2 done
    feedback: set[tuple[int, int]] = set()
    for root in range(count):
        if state[root]:
            continue
        stack = [(root, iter(out[root]))]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state[child] == 1:
                feedback.add((node, child))
            elif state[child] == 0:
                state[child] = 1
                stack.append((child, iter(out[child])))
    return [p for p in pairs if p not in feedback], feedback


def _longest_path_layers(count: int, forward: list[tuple[int, int]]) -> list[int]:
    """Kahn's order with ties broken by node order; a node sits one layer right of its deepest parent."""
    indegree = [0] * count
    children: dict[int, list[int]] = {i: [] for i in range(count)}
    for s, t in forward:
        indegree[t] += 1
        children[s].append(t)
    layer = [0] * count
    ready = sorted(i for i in range(count) if indegree[i] == 0)
    while ready:
        node = ready.pop(0)
        for child in children[node]:
            layer[child] = max(layer[child], layer[node] + 1)
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
                ready.sort()
    return layer


def _order_layers(layer: list[int], forward: list[tuple[int, int]]) -> list[list[int]]:
    """Barycentre sweeps (down, then up), keeping the ordering with the fewest crossings seen.

    A node without neighbours in the adjacent layer a sweep looks at keeps its slot; the others are
    sorted by the mean slot of those neighbours (a stable sort, so ties keep their order).
    """
    layers: list[list[int]] = [[] for _ in range(max(layer, default=-1) + 1)]
    for i, depth in enumerate(layer):
        layers[depth].append(i)
    parents: dict[int, list[int]] = {i: [] for i in range(len(layer))}
    children: dict[int, list[int]] = {i: [] for i in range(len(layer))}
    for s, t in forward:
        parents[t].append(s)
        children[s].append(t)

    def reorder(members: list[int], neighbours: dict[int, list[int]], near: list[int]) -> None:
        pos = {n: slot for slot, n in enumerate(near)}
        slots = {i: [pos[n] for n in neighbours[i] if n in pos] for i in members}
        moved = iter(sorted((i for i in members if slots[i]), key=lambda i: sum(slots[i]) / len(slots[i])))
        members[:] = [next(moved) if slots[i] else i for i in members]

    best = [list(m) for m in layers]
    fewest = _crossings(layers, forward, layer)
    for _ in range(_SWEEPS):
        for depth in range(1, len(layers)):
            reorder(layers[depth], parents, layers[depth - 1])
        for depth in range(len(layers) - 2, -1, -1):
            reorder(layers[depth], children, layers[depth + 1])
        count = _crossings(layers, forward, layer)
        if count < fewest:
            best, fewest = [list(m) for m in layers], count
    return best


def _crossings(layers: list[list[int]], forward: list[tuple[int, int]], layer: list[int]) -> int:
    """Pairs of edges between the same two adjacent layers whose ends are in opposite order."""
    slot = {i: s for members in layers for s, i in enumerate(members)}
    spans: dict[int, list[tuple[int, int]]] = {}
    for s, t in forward:
        if layer[t] == layer[s] + 1:
            spans.setdefault(layer[s], []).append((slot[s], slot[t]))
    count = 0
    for edges in spans.values():
        for k, (a1, b1) in enumerate(edges):
            count += sum(1 for a2, b2 in edges[k + 1 :] if (a1 - a2) * (b1 - b2) < 0)
    return count


def _forward_path(a: PlacedNode, b: PlacedNode) -> str:
    x1, y1 = a.x + NODE_WIDTH, a.y + NODE_HEIGHT / 2
    x2, y2 = b.x, b.y + NODE_HEIGHT / 2
    mid = (x1 + x2) / 2
    return f"M{_n(x1)},{_n(y1)} C{_n(mid)},{_n(y1)} {_n(mid)},{_n(y2)} {_n(x2)},{_n(y2)}"


def _feedback_path(a: PlacedNode, b: PlacedNode, height: float) -> str:
    """Leave from the bottom of the source, dip below every node, come back up into the target's bottom."""
    x1, y1 = a.x + NODE_WIDTH * 0.6, a.y + NODE_HEIGHT
    x2, y2 = b.x + NODE_WIDTH * 0.4, b.y + NODE_HEIGHT
    low = height + GAP_Y
    return f"M{_n(x1)},{_n(y1)} C{_n(x1)},{_n(low)} {_n(x2)},{_n(low)} {_n(x2)},{_n(y2)}"


def _n(value: float) -> str:
    return f"{value:g}"
