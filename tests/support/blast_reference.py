"""The blast-radius simulation as it was before the per-revision flow index: one link-disjoint
upstream-path search per device within depth, before and after the failure. Kept as the
reference the indexed ``simulate`` must agree with, field for field."""

from __future__ import annotations

import math
from typing import Any

import rustworkx as rx
from meshq_graph_engine.blast import BlastResult, DeviceImpact, Failure, Topology
from meshq_graph_engine.blast._analysis import (
    TOP_LOST_PATHS,
    climbing,
    dead_links,
    heights,
    upstream,
)
from meshq_graph_engine.blast._flow import PathCount, disjoint_paths
from meshq_graph_engine.blast._scoring import device_weight, impact_score, severity

__all__ = ["reference_counts", "reference_simulate"]


def _reaching(graph: rx.PyGraph, sources: frozenset[int]) -> set[int]:
    out: set[int] = set()
    for component in rx.connected_components(graph):
        if not sources.isdisjoint(component):
            out |= component
    return out


def reference_counts(topology: Topology) -> dict[str, int]:
    """Every device's upstream path count, one search per device (what-if's old loop)."""
    up, _ = upstream(topology)
    height = heights(topology, up)
    adj = climbing(topology, up)
    return {
        topology.ids[n]: disjoint_paths(n, adj, topology.ends, up).count
        for n in range(len(topology.ids))
        if n not in up and height[n] != math.inf
    }


def reference_simulate(topology: Topology, failure: Failure, depth: int) -> BlastResult:
    up, rule = upstream(topology)
    dead_nodes = {topology.index[d] for d in failure.devices if d in topology.index}
    dead = dead_links(topology, failure, dead_nodes)
    live_up = frozenset(up - dead_nodes)
    touched = sorted(
        {topology.index[d] for d in failure.touched | failure.devices if d in topology.index}
    )
    hops: dict[int, int] = {}
    if touched:
        for level, nodes in enumerate(rx.bfs_layers(topology.graph, touched)):
            if level > depth:
                break
            hops.update((n, level) for n in nodes)

    after = topology.graph.copy()
    for e in dead:
        after.remove_edge_from_index(e)
    after.remove_nodes_from(sorted(dead_nodes))
    height = heights(topology, up)
    adj = climbing(topology, up)
    after_reach = _reaching(after, live_up)

    impacts: list[DeviceImpact] = []
    flows: dict[int, PathCount] = {}
    for node, hop in sorted(hops.items(), key=lambda kv: (kv[1], topology.ids[kv[0]])):
        info = topology.devices[topology.ids[node]]
        if node in dead_nodes:
            impacts.append(DeviceImpact(info.id, "affected", True, hop, 0, 0, info))
            continue
        if node in live_up or height[node] == math.inf:
            continue
        before = disjoint_paths(node, adj, topology.ends, up)
        flows[node] = before
        if node not in after_reach:
            impacts.append(DeviceImpact(info.id, "affected", False, hop, before.count, 0, info))
            continue
        if not before.uses_any(dead):
            continue
        remaining = disjoint_paths(
            node,
            adj,
            topology.ends,
            live_up,
            dead_links=dead,
            dead_nodes=dead_nodes,
            cap=before.count,
        )
        if remaining.count < before.count:
            impacts.append(
                DeviceImpact(info.id, "degraded", False, hop, before.count, remaining.count, info)
            )
    return _result(topology, failure, depth, up, rule, impacts, flows, dead, dead_nodes)


def _result(
    topology: Topology,
    failure: Failure,
    depth: int,
    up: frozenset[int],
    rule: str,
    impacts: list[DeviceImpact],
    flows: dict[int, PathCount],
    dead: set[int],
    dead_nodes: set[int],
) -> BlastResult:
    order = {"affected": 0, "degraded": 1}
    impacts.sort(key=lambda i: (order[i.status], not i.failed, i.hops, i.device))
    affected = [i for i in impacts if i.status == "affected"]
    affected_ids = {i.device for i in affected}
    endpoints = sum(i.info.endpoints for i in affected)
    extra = sum(1 for d in failure.endpoints.values() if d not in affected_ids)
    managed = sum(1 for d in topology.devices.values() if d.managed)
    hit = sum(1 for i in affected if i.info.managed)
    degraded = sum(1 for i in impacts if i.status == "degraded" and i.info.managed)
    pct = round(100 * hit / managed, 1) if managed else 0.0
    degraded_pct = round(100 * degraded / managed, 1) if managed else 0.0
    score = impact_score((i.info for i in affected), topology.devices.values(), extra)
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
        lost_paths=_lost_paths(topology, impacts, flows, up, dead, dead_nodes),
    )


def _lost_paths(
    topology: Topology,
    impacts: list[DeviceImpact],
    flows: dict[int, PathCount],
    up: frozenset[int],
    dead: set[int],
    dead_nodes: set[int],
) -> list[dict[str, Any]]:
    ranked = sorted(
        (i for i in impacts if not i.failed),
        key=lambda i: (i.status != "affected", -device_weight(i.info), i.hops, i.device),
    )
    out = []
    for impact in ranked[:TOP_LOST_PATHS]:
        flow = flows[topology.index[impact.device]]
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
