"""Every device's upstream paths before any failure, worked out once per graph revision.

The index holds, per device, its upstream path count and the flow that carries it (the links,
each with its direction, in the order the search found them: the same search as ``_flow``'s,
so the paths listed are the ones a search at failure time finds), and per logical link the
devices whose flow uses it. A failure then only needs to look again at the devices whose flow
uses a link that went down; every other device keeps its count (see ``_analysis.simulate``).

Devices whose every upstream step climbs (no neighbour at their own height: the usual access
or distribution switch) form groups by the upstream neighbours they step to, with how many
links to each. Two such devices with the same live upstream neighbours have the same count
after any failure: both sit one tier above those neighbours, their paths run from there and
never come back up to their tier, so neither can use the other, and what lies below the
neighbours is the same graph for both. One search answers for the group.

Everything is held in flat arrays (numpy), not in per-device objects: a few bytes per device
and per link of its flow.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Collection, Sequence

import numpy as np
import numpy.typing as npt

from meshq_graph_engine.blast._flow import PathCount, disjoint_paths

__all__ = ["FlowIndex"]

Ids = npt.NDArray[np.int32]
Offsets = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


def _ids(values: array[int]) -> Ids:
    return np.frombuffer(values, dtype=np.int32).copy()


class FlowIndex:
    """Upstream path counts and flows for every device of one topology, before any failure."""

    def __init__(
        self,
        adj: Sequence[Sequence[tuple[int, int]]],
        ends: Sequence[tuple[int, int]],
        height: Sequence[float],
        up: frozenset[int],
    ) -> None:
        n, n_links = len(adj), len(ends)
        self._adj, self._ends, self.up = adj, ends, up
        counts = array("i", [0]) * n
        group = array("i", [-1]) * n
        starts = array("q", [0])
        links, directions = array("i"), array("b")
        groups: dict[tuple[int, ...], int] = {}
        for node in range(n):
            if node not in up and height[node] != math.inf:
                found = disjoint_paths(node, adj, ends, up)
                counts[node] = found.count
                for e, f in found.flow.items():
                    if f:
                        links.append(e)
                        directions.append(f)
                here = height[node]
                if all(height[nxt] < here for _, nxt in adj[node]):
                    group[node] = groups.setdefault(self._steps(node), len(groups))
            starts.append(len(links))
        #: upstream paths per device before any failure (0: upstream itself, or none reached)
        self.count: Ids = _ids(counts)
        #: a device whose every upstream step climbs: its group, the devices with the same
        #: upstream neighbours (-1: it has a step to a peer)
        self.group: Ids = _ids(group)
        #: device d's flow: links flow_link[flow_start[d]:flow_start[d + 1]], directions
        #: flow_dir (+1 from ends[e][0] to ends[e][1], -1 the other way)
        self.flow_start: Offsets = np.frombuffer(starts, dtype=np.int64).copy()
        self.flow_link: Ids = _ids(links)
        self.flow_dir = np.frombuffer(directions, dtype=np.int8).copy()
        #: the two devices of each logical link
        self.link_ends: Ids = np.asarray(ends, dtype=np.int32).reshape(-1, 2)
        owner = np.repeat(np.arange(n, dtype=np.int32), np.diff(self.flow_start))
        #: link e's users, the devices whose flow uses it: user[user_start[e]:user_start[e + 1]]
        self.user: Ids = owner[np.argsort(self.flow_link, kind="stable")]
        self.user_start: Offsets = np.zeros(n_links + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.flow_link, minlength=n_links), out=self.user_start[1:])

    def _steps(
        self, node: int, dead_links: Collection[int] = (), dead_nodes: Collection[int] = ()
    ) -> tuple[int, ...]:
        """The upstream neighbours a device steps to over live links, once per link."""
        return tuple(
            sorted(
                nxt for e, nxt in self._adj[node] if e not in dead_links and nxt not in dead_nodes
            )
        )

    def nbytes(self) -> int:
        arrays = (self.count, self.group, self.flow_start, self.flow_link)
        more = (self.flow_dir, self.user, self.user_start, self.link_ends)
        return sum(a.nbytes for a in (*arrays, *more))

    def flow(self, node: int) -> PathCount:
        """The device's flow before any failure, as ``disjoint_paths`` finds it."""
        lo, hi = int(self.flow_start[node]), int(self.flow_start[node + 1])
        flow = dict(zip(self.flow_link[lo:hi].tolist(), self.flow_dir[lo:hi].tolist(), strict=True))
        return PathCount(node, int(self.count[node]), flow, self._ends)

    def users(self, links: Offsets) -> Bools:
        """Which devices have a flow that uses any of ``links``."""
        out = np.zeros(len(self.count), dtype=np.bool_)
        if len(links):
            lo, hi = self.user_start[links], self.user_start[links + 1]
            sizes = hi - lo
            total = int(sizes.sum())
            if total:
                offsets = np.repeat(lo - np.cumsum(sizes) + sizes, sizes)
                out[self.user[offsets + np.arange(total)]] = True
        return out

    def counts_after(
        self,
        nodes: npt.NDArray[np.intp],
        live_up: frozenset[int],
        dead_links: Collection[int],
        dead_nodes: Collection[int],
        near_dead: Bools,
    ) -> Offsets:
        """Upstream path counts of ``nodes`` over the surviving links, to a live upstream.

        A device of a group with no dead link of its own shares one search with the rest of its
        group; one next to a dead link or device shares it with those that have the same live
        upstream neighbours; a device with a peer step has a search of its own (capped at its
        count before: it cannot have more paths after a failure than before it).
        """
        out = np.zeros(len(nodes), dtype=np.int64)
        found: dict[tuple[int, ...], int] = {}

        def by_steps(node: int, steps: tuple[int, ...]) -> int:
            if steps not in found:
                found[steps] = disjoint_paths(
                    node,
                    self._adj,
                    self._ends,
                    live_up,
                    dead_links=dead_links,
                    dead_nodes=dead_nodes,
                ).count
            return found[steps]

        groups = self.group[nodes]
        shared = (groups >= 0) & ~near_dead[nodes]
        if shared.any():
            where = np.flatnonzero(shared)
            # one device of each group, with all its links up, searches for the whole group
            _, first, inverse = np.unique(groups[where], return_index=True, return_inverse=True)
            per_group = np.array(
                [by_steps(node, self._steps(node)) for node in nodes[where[first]].tolist()],
                dtype=np.int64,
            )
            out[where] = per_group[inverse]
        for i in np.flatnonzero(~shared).tolist():
            node = int(nodes[i])
            if self.group[node] >= 0:
                out[i] = by_steps(node, self._steps(node, dead_links, dead_nodes))
            else:
                out[i] = disjoint_paths(
                    node,
                    self._adj,
                    self._ends,
                    live_up,
                    dead_links=dead_links,
                    dead_nodes=dead_nodes,
                    cap=int(self.count[node]),
                ).count
        return out
