"""What a failure breaks: affected and degraded devices, endpoints, percentage, score, severity.

- **Upstream**: devices whose role is an upstream role (see ``_scoring.UPSTREAM_ROLES``).
  When no device has one, the largest connected component (most devices; on a tie, the one
  holding the alphabetically first device id) and, in it, every device whose degree (distinct
  neighbouring devices) equals the component's highest.
- **Hops**: breadth-first distance in the graph *before* the failure from the devices the
  failed element sits on (the failed device; both ends of a failed link; the owners of failed
  interfaces; the devices of a failed VLAN or subnet), which are at hop 0. Only devices at
  ``hops <= depth`` can be affected or degraded.
- **Affected**: the failed devices, and every device within depth that reached a live upstream
  device before the failure and reaches none after it. A device that reached none before had
  nothing to lose and is not counted.
- **Paths**: a device's link-disjoint *upstream paths* (``_flow``): paths that never move away
  from the upstream (each step to a device at most as many hops from the upstream as the
  current one, measured before the failure), so they climb the hierarchy or cross to a peer
  of the same tier. A LAG is one link.
- **Degraded**: within depth, not affected, not itself upstream, and it has fewer upstream
  paths over the surviving links than before (redundancy reduced, or only a detour left).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import rustworkx as rx

from meshq_graph_engine.blast._flow import upward
from meshq_graph_engine.blast._index import FlowIndex
from meshq_graph_engine.blast._model import Device, Failure, Topology
from meshq_graph_engine.blast._scoring import (
    device_weight,
    impact_score,
    is_upstream_role,
    severity,
)

__all__ = [
    "TOP_LOST_PATHS",
    "BlastResult",
    "DeviceImpact",
    "climbing",
    "flow_index",
    "heights",
    "simulate",
    "upstream",
]

#: How many affected or degraded devices the answer lists lost paths for.
TOP_LOST_PATHS = 10


@dataclass(frozen=True)
class DeviceImpact:
    device: str
    status: str  # affected | degraded
    failed: bool
    hops: int
    paths_before: int
    paths_after: int
    info: Device

    def row(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "status": self.status,
            "failed": self.failed,
            "hops": self.hops,
            "managed": self.info.managed,
            "role": self.info.role,
            "criticality": self.info.criticality,
            "endpoints": self.info.endpoints,
            "paths_before": self.paths_before,
            "paths_after": self.paths_after,
        }


@dataclass
class BlastResult:
    failure: Failure
    depth: int
    upstream: list[str]
    upstream_rule: str
    impacts: list[DeviceImpact]
    managed_total: int
    affected_endpoints: int
    blast_radius_pct: float
    degraded_pct: float
    impact_score: int
    severity: str
    lost_paths: list[dict[str, Any]] = field(default_factory=list)

    @property
    def affected_devices(self) -> list[str]:
        return [i.device for i in self.impacts if i.status == "affected"]

    @property
    def degraded_devices(self) -> list[str]:
        return [i.device for i in self.impacts if i.status == "degraded"]

    def summary(self) -> dict[str, Any]:
        affected = [i for i in self.impacts if i.status == "affected"]
        return {
            "blast_radius_pct": self.blast_radius_pct,
            "affected_devices": self.affected_devices,
            "severity": self.severity,
            "impact_score": self.impact_score,
            "degraded_devices": self.degraded_devices,
            "affected_endpoints": self.affected_endpoints,
            "affected_managed_devices": sum(1 for i in affected if i.info.managed),
            "managed_devices": self.managed_total,
            "degraded_pct": self.degraded_pct,
            "depth": self.depth,
            "failed": self.failure.describe(),
            "upstream": self.upstream,
            "upstream_rule": self.upstream_rule,
            "lost_paths": self.lost_paths,
        }


def upstream(topology: Topology) -> tuple[frozenset[int], str]:
    """The upstream device nodes and the rule that chose them (``role`` or ``degree``)."""
    cached = topology._upstream
    if cached is not None:
        return cached
    by_role = frozenset(
        topology.index[d.id] for d in topology.devices.values() if is_upstream_role(d.role)
    )
    if by_role:
        found = (by_role, "role")
    else:
        found = (_highest_degree(topology), "degree")
    topology._upstream = found
    return found


def _highest_degree(topology: Topology) -> frozenset[int]:
    components = rx.connected_components(topology.graph)
    if not components:
        return frozenset()
    largest = min(components, key=lambda c: (-len(c), min(topology.ids[n] for n in c)))
    degrees = {n: topology.degree(n) for n in largest}
    top = max(degrees.values())
    return frozenset(n for n, d in degrees.items() if d == top)


def _reaching(graph: rx.PyGraph, sources: frozenset[int]) -> set[int]:
    """Every node in a component that holds one of ``sources``."""
    out: set[int] = set()
    for component in rx.connected_components(graph):
        if not sources.isdisjoint(component):
            out |= component
    return out


def heights(topology: Topology, up: frozenset[int]) -> list[float]:
    """Hops from each device to the nearest upstream device before any failure (inf: none)."""
    cached = topology._heights
    if cached is None:
        cached = [math.inf] * len(topology.ids)
        if up:
            for level, nodes in enumerate(rx.bfs_layers(topology.graph, sorted(up))):
                for n in nodes:
                    cached[n] = level
        topology._heights = cached
    return cached


def climbing(topology: Topology, up: frozenset[int]) -> list[list[tuple[int, int]]]:
    """Per device, the links an upstream path may take from it (cached with the heights)."""
    cached = topology._climbing
    if cached is None:
        cached = upward(topology.adj, heights(topology, up))
        topology._climbing = cached
    return cached


def dead_links(topology: Topology, failure: Failure, dead_nodes: set[int]) -> set[int]:
    """Logical links that are down: every member failed, or an end device failed."""
    failed_members: dict[int, int] = {}
    for link_id in failure.links:
        index = topology.logical_of.get(link_id)
        if index is not None:
            failed_members[index] = failed_members.get(index, 0) + 1
    dead = {i for i, n in failed_members.items() if n == len(topology.logical[i].members)}
    for node in dead_nodes:
        dead.update(e for e, _ in topology.adj[node])
    return dead


def flow_index(topology: Topology) -> FlowIndex:
    """Every device's upstream paths before any failure (built on first use, then kept with
    the topology, which is read once per graph revision)."""
    cached = topology._flow_index
    if cached is None:
        up, _ = upstream(topology)
        cached = FlowIndex(climbing(topology, up), topology.ends, heights(topology, up), up)
        topology._flow_index = cached
    return cached


def simulate(topology: Topology, failure: Failure, depth: int) -> BlastResult:
    """The failure's blast radius (see the module docstring for what each answer means).

    Only devices whose upstream flow before the failure (``flow_index``) uses a link that went
    down are looked at again. Any other device within depth keeps all its paths: its flow avoids
    every dead link, so it avoids every dead device too (a dead device takes all its links) and
    ends at a live upstream device; the same flow is still there after the failure, and a
    failure never adds paths. It is neither affected nor degraded. A device looked at again is
    degraded when its count over the surviving links is lower; with no upstream path left, it is
    affected unless it still reaches a live upstream device by a detour (then degraded, 0).
    """
    up, rule = upstream(topology)
    index = flow_index(topology)
    dead_nodes = {topology.index[d] for d in failure.devices if d in topology.index}
    dead = dead_links(topology, failure, dead_nodes)
    live_up = frozenset(up - dead_nodes)
    touched = sorted(
        {topology.index[d] for d in failure.touched | failure.devices if d in topology.index}
    )
    hops = np.full(len(topology.ids), -1, dtype=np.int64)
    if touched:
        for level, layer in enumerate(rx.bfs_layers(topology.graph, touched)):
            if level > depth:
                break
            hops[layer] = level

    impacts: list[DeviceImpact] = []
    for node in dead_nodes:
        info = topology.devices[topology.ids[node]]
        impacts.append(DeviceImpact(info.id, "affected", True, int(hops[node]), 0, 0, info))
    down = np.fromiter(dead, dtype=np.int64, count=len(dead))
    near_dead = np.zeros(len(topology.ids), dtype=np.bool_)
    near_dead[index.link_ends[down].ravel()] = True
    again = index.users(down) & (hops >= 0)
    again[sorted(dead_nodes)] = False
    nodes = np.flatnonzero(again)
    before = index.count[nodes]
    after = index.counts_after(nodes, live_up, dead, dead_nodes, near_dead)
    after_reach: set[int] | None = None
    for i in np.flatnonzero(after < before).tolist():
        node, paths_before, paths_after = int(nodes[i]), int(before[i]), int(after[i])
        info = topology.devices[topology.ids[node]]
        status = "degraded"
        if paths_after == 0:
            if after_reach is None:
                after_reach = _reaching(_after_graph(topology, dead, dead_nodes), live_up)
            if node not in after_reach:
                status = "affected"
        impacts.append(
            DeviceImpact(info.id, status, False, int(hops[node]), paths_before, paths_after, info)
        )
    return _result(topology, failure, depth, up, rule, impacts, index, dead, dead_nodes)


def _after_graph(topology: Topology, dead: set[int], dead_nodes: set[int]) -> rx.PyGraph:
    after = topology.graph.copy()
    for e in dead:
        after.remove_edge_from_index(e)
    after.remove_nodes_from(sorted(dead_nodes))
    return after


def _result(
    topology: Topology,
    failure: Failure,
    depth: int,
    up: frozenset[int],
    rule: str,
    impacts: list[DeviceImpact],
    index: FlowIndex,
    dead: set[int],
    dead_nodes: set[int],
) -> BlastResult:
    order = {"affected": 0, "degraded": 1}
    impacts.sort(key=lambda i: (order[i.status], not i.failed, i.hops, i.device))
    affected = [i for i in impacts if i.status == "affected"]
    affected_ids = {i.device for i in affected}
    endpoints = sum(i.info.endpoints for i in affected)
    extra = sum(1 for d in failure.endpoints.values() if d not in affected_ids)
    managed = topology.managed_count()
    hit = sum(1 for i in affected if i.info.managed)
    degraded = sum(1 for i in impacts if i.status == "degraded" and i.info.managed)
    pct = round(100 * hit / managed, 1) if managed else 0.0
    degraded_pct = round(100 * degraded / managed, 1) if managed else 0.0
    score = impact_score((i.info for i in affected), topology.total_weight(device_weight), extra)
    return BlastResult(
        failure=failure,
        depth=depth,
        upstream=sorted(topology.ids[n] for n in up),
        upstream_rule=rule,
        impacts=impacts,
        managed_total=managed,
        affected_endpoints=endpoints + extra,
        blast_radius_pct=pct,
        degraded_pct=degraded_pct,
        impact_score=score,
        severity=severity(pct, score, degraded_pct),
        lost_paths=_lost_paths(topology, impacts, index, up, dead, dead_nodes),
    )


def _lost_paths(
    topology: Topology,
    impacts: list[DeviceImpact],
    index: FlowIndex,
    up: frozenset[int],
    dead: set[int],
    dead_nodes: set[int],
) -> list[dict[str, Any]]:
    """For the heaviest affected (then degraded) devices: the paths upstream they lost."""
    ranked = sorted(
        (i for i in impacts if not i.failed),
        key=lambda i: (i.status != "affected", -device_weight(i.info), i.hops, i.device),
    )
    out = []
    for impact in ranked[:TOP_LOST_PATHS]:
        flow = index.flow(topology.index[impact.device])
        lost = []
        for nodes, links in flow.paths(up):
            broken = any(n in dead_nodes for n in nodes) or any(e in dead for e in links)
            if impact.status == "affected" or broken:
                lost.append([topology.ids[n] for n in nodes])
        out.append(
            {
                "device": impact.device,
                "status": impact.status,
                "paths_before": impact.paths_before,
                "paths_after": impact.paths_after,
                "lost": lost,
            }
        )
    return out
