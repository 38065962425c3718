"""Link-disjoint upstream paths from one device (unit-capacity augmenting paths).

An *upstream path* never moves away from the upstream: each step goes to a device whose
distance to the upstream (``height``, hops in the graph before the failure) is at most the
current one, so it climbs or goes sideways to a peer of the same tier, never down through
another access switch. The number of link-disjoint upstream paths is what "its paths" means
for *degraded*: by Menger's theorem, the number of logical links that must fail before the
device has to detour. Each logical link carries one unit; reaching any live upstream device
ends a path. The search stops once it has ``cap`` paths.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Sequence

__all__ = ["PathCount", "disjoint_paths", "upward"]


class PathCount:
    """The flow found: how many paths, the links carrying it, and the paths themselves."""

    def __init__(
        self, source: int, count: int, flow: dict[int, int], ends: Sequence[tuple[int, int]]
    ) -> None:
        self.source, self.count, self.flow, self._ends = source, count, flow, ends

    def uses_any(self, links: Collection[int]) -> bool:
        return any(e in links for e, f in self.flow.items() if f)

    def paths(self, terminals: Collection[int]) -> list[tuple[list[int], list[int]]]:
        """The flow split into paths: (devices, source first; the links between them)."""
        out_edges: dict[int, list[tuple[int, int]]] = {}
        for e, f in self.flow.items():
            if not f:
                continue
            a, b = self._ends[e]
            src, dst = (a, b) if f > 0 else (b, a)
            out_edges.setdefault(src, []).append((e, dst))
        paths: list[tuple[list[int], list[int]]] = []
        for _ in range(self.count):
            node, nodes = self.source, [self.source]
            links: list[int] = []
            while node == self.source or node not in terminals:
                options = out_edges.get(node)
                if not options:
                    break
                e, node = options.pop()
                if node in nodes:  # a cycle in the flow: cut it out of the path
                    cut = nodes.index(node)
                    nodes, links = nodes[: cut + 1], links[:cut]
                    continue
                nodes.append(node)
                links.append(e)
            paths.append((nodes, links))
        return paths


def upward(
    adj: Sequence[Sequence[tuple[int, int]]], height: Sequence[float]
) -> list[list[tuple[int, int]]]:
    """The links a new unit may take from each device: to a device no farther upstream."""
    return [
        [(e, n) for e, n in links if height[n] <= height[node]] for node, links in enumerate(adj)
    ]


def disjoint_paths(
    source: int,
    adj: Sequence[Sequence[tuple[int, int]]],
    ends: Sequence[tuple[int, int]],
    terminals: Collection[int],
    *,
    dead_links: Collection[int] = (),
    dead_nodes: Collection[int] = (),
    cap: int | None = None,
) -> PathCount:
    """Link-disjoint paths from ``source`` to any of ``terminals``, at most ``cap`` of them.

    ``adj`` lists, per device, the links a new unit may take (all of them, or ``upward(...)``
    for upstream paths). ``flow[e]`` is +1 when link ``e`` carries a unit from ``ends[e][0]``
    to ``ends[e][1]``, -1 the other way. An augmenting step may also cancel a unit by going
    back along it (the residual of a legal step), never put two units on a link.
    """
    flow: dict[int, int] = {}
    count = 0
    limit = cap if cap is not None else sum(1 for e, _ in adj[source] if e not in dead_links)
    while count < limit:
        inflow: dict[int, list[tuple[int, int]]] = {}
        for e, f in flow.items():
            if f:
                a, b = ends[e]
                src, dst = (a, b) if f > 0 else (b, a)
                inflow.setdefault(dst, []).append((e, src))
        via: dict[int, tuple[int, int]] = {source: (-1, -1)}
        queue = deque([source])
        reached = -1
        while queue and reached < 0:
            node = queue.popleft()
            for e, nxt in (*adj[node], *inflow.get(node, ())):
                if nxt in via or e in dead_links or nxt in dead_nodes:
                    continue
                sent = flow.get(e, 0)
                if sent and (ends[e][0] == node) == (sent > 0):
                    continue  # this link already carries a unit this way
                via[nxt] = (e, node)
                if nxt in terminals:
                    reached = nxt
                    break
                queue.append(nxt)
        if reached < 0:
            break
        node = reached
        while node != source:
            e, prev = via[node]
            flow[e] = flow.get(e, 0) + (1 if ends[e][0] == prev else -1)
            node = prev
        count += 1
    return PathCount(source, count, flow, ends)
