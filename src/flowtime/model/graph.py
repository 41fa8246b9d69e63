"""Column dependency graph: cycle errors, feedback groups and the evaluation order (``model.md`` §8.2)."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence

from flowtime.errors import Problem
from flowtime.model.spec import Component, Dependency


def plan(columns: Sequence[tuple[str, Sequence[Dependency]]]) -> tuple[tuple[Component, ...], list[Problem]]:
    """Order ``columns`` (given in position order, each with the dependencies that resolved) for evaluation.

    Returns every column exactly once inside the components, in evaluation order, and one ``cycle`` problem
    per same-bin cycle (ordered by smallest member position). With cycles the components are still ordered
    as far as possible — a cyclic component lists its unorderable members by position — but must not be
    evaluated. Dependencies on unknown names are ignored (unresolved references were reported already);
    a dependency named several times is same-bin if any mention is. Runs in ``O(columns + edges)``.
    """
    ids = [column_id for column_id, _ in columns]
    n = len(ids)
    position: dict[str, int] = {}
    for i, column_id in enumerate(ids):
        position.setdefault(column_id, i)

    prerequisites: list[list[int]] = []  # distinct prerequisites, self-edges excluded
    same_bin: list[list[int]] = []  # the same-bin subset of ``prerequisites``
    same_bin_self = [False] * n
    lagged_self = [False] * n
    for i, (_, deps) in enumerate(columns):
        merged: dict[int, bool] = {}  # prerequisite position -> depends same-bin
        any_lagged = False
        for dep in deps:
            j = position.get(dep.column)
            if j is not None:
                merged[j] = merged.get(j, False) or not dep.lagged
                any_lagged = any_lagged or dep.lagged
        self_edge = merged.pop(i, None)
        if self_edge is not None:
            same_bin_self[i] = self_edge
            lagged_self[i] = not self_edge
        prerequisites.append(list(merged))
        same_bin.append([j for j, same in merged.items() if same] if any_lagged else prerequisites[i])

    component_of, count = _strongly_connected(n, prerequisites, range(n))

    # Members per component in position order; components in key order (smallest member position).
    members: list[list[int]] = [[] for _ in range(count)]
    by_key: list[int] = []
    for i, c in enumerate(component_of):
        if not members[c]:
            by_key.append(c)
        members[c].append(i)

    # Component edges, each list of dependents in key order: fill by visiting dependents in key order.
    dependents: list[list[int]] = [[] for _ in range(count)]
    waiting = [0] * count
    last_dependent = [-1] * count
    for target in by_key:
        for i in members[target]:
            for j in prerequisites[i]:
                source = component_of[j]
                if source != target and last_dependent[source] != target:
                    last_dependent[source] = target
                    dependents[source].append(target)
                    waiting[target] += 1

    # Same-bin edges inside feedback groups, each list of dependents in position order.
    inner_dependents: defaultdict[int, list[int]] = defaultdict(list)
    inner_waiting = [0] * n
    for c, group in enumerate(members):
        if len(group) > 1:
            for i in group:
                for j in same_bin[i]:
                    if component_of[j] == c:
                        inner_dependents[j].append(i)
                        inner_waiting[i] += 1

    ordered: list[Component] = []
    suspects = [i for i in range(n) if same_bin_self[i]]  # columns that may lie on a same-bin cycle
    for c in _kahn([c for c in by_key if waiting[c] == 0], dependents, waiting):
        group = members[c]
        if len(group) == 1:
            ordered.append(Component((ids[group[0]],), lagged_self[group[0]]))
            continue
        order = _kahn([i for i in group if inner_waiting[i] == 0], inner_dependents, inner_waiting)
        if len(order) < len(group):  # a same-bin cycle: reported below, never evaluated
            placed = set(order)
            stuck = [i for i in group if i not in placed]
            suspects.extend(stuck)
            order.extend(stuck)
        ordered.append(Component(tuple(ids[i] for i in order), True))
    return tuple(ordered), _cycles(ids, suspects, inner_dependents, same_bin_self)


def _kahn(seeds: list[int], dependents: Mapping[int, list[int]] | list[list[int]], waiting: list[int]) -> list[int]:
    """Kahn's algorithm with a FIFO queue; ``waiting`` (remaining prerequisites) is consumed."""
    queue = deque(seeds)
    order: list[int] = []
    while queue:
        v = queue.popleft()
        order.append(v)
        for w in dependents[v]:
            waiting[w] -= 1
            if waiting[w] == 0:
                queue.append(w)
    return order


def _cycles(
    ids: list[str], suspects: list[int], inner_dependents: Mapping[int, list[int]], same_bin_self: list[bool]
) -> list[Problem]:
    """One ``cycle`` error per strongly connected component of the same-bin graph that is a cycle.

    Only ``suspects`` (same-bin self-loops, and members that Kahn's algorithm could not place inside their
    component) can lie on one; Tarjan runs over the same-bin edges inside components from them.
    """
    if not suspects:
        return []
    component_of, count = _strongly_connected(len(ids), inner_dependents, suspects)
    members: list[list[int]] = [[] for _ in range(count)]
    for i in sorted(set(suspects)):
        members[component_of[i]].append(i)
    cyclic = [group for group in members if len(group) > 1 or (group and same_bin_self[group[0]])]
    problems = []
    for group in sorted(cyclic, key=lambda g: g[0]):
        names = tuple(ids[i] for i in group)
        problems.append(Problem("cycle", f"Graph has a cycle involving nodes: {', '.join(names)}", nodes=names))
    return problems


def _strongly_connected(
    n: int, edges: Mapping[int, list[int]] | list[list[int]], roots: Iterable[int]
) -> tuple[list[int], int]:
    """Tarjan's algorithm without recursion over the vertices ``0..n-1`` that ``roots`` reach.

    Returns the component index of every vertex (-1 when unreached) and the number of components.
    """
    index = [-1] * n
    low = [0] * n
    on_stack = [False] * n
    component_of = [-1] * n
    next_edge = [0] * n
    stack: list[int] = []
    counter = 0
    count = 0
    for root in roots:
        if index[root] != -1:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        path = [root]
        while path:
            v = path[-1]
            out = edges[v]
            k = next_edge[v]
            if k < len(out):
                next_edge[v] = k + 1
                w = out[k]
                if index[w] == -1:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack[w] = True
                    path.append(w)
                elif on_stack[w] and index[w] < low[v]:
                    low[v] = index[w]
                continue
            path.pop()
            if path and low[v] < low[path[-1]]:
                low[path[-1]] = low[v]
            if low[v] == index[v]:
                while True:
                    w = stack.pop()
                    on_stack[w] = False
                    component_of[w] = count
                    if w == v:
                        break
                count += 1
    return component_of, count
