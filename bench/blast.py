"""Blast radius figures: chaos-simulate (device failure) on the synthetic network for a core, a
distribution and an access device at depth 3 and 6, p50/p95, and the same answer computed
with plain networkx in the same run (the ratio says how much rustworkx and the early-stopping
path search buy). Both answers are compared device for device.

The timed call is what ``POST /graph/chaos-simulate`` runs inside graph-engine (target
resolution, the simulation, the summary) with the topology already read for the current graph
revision; the first read of the topology from the store is reported on its own. HTTP and the
gateway add what the gateway section measures.
"""

from __future__ import annotations

import asyncio
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["markdown", "run"]


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def networkx_answer(topology: Any, target: str, depth: int) -> tuple[set[str], set[str]]:
    """Affected and degraded devices for a device failure, with networkx only."""
    import networkx as nx

    g: nx.MultiGraph[str] = nx.MultiGraph()
    g.add_nodes_from(topology.ids)
    g.add_edges_from((ll.a, ll.b) for ll in topology.logical)
    up = {d.id for d in topology.devices.values() if _upstream_role(d.role)}
    if not up:
        largest = min(nx.connected_components(g), key=lambda c: (-len(c), min(c)))
        degree = {v: len(set(g.neighbors(v))) for v in largest}
        up = {v for v, d in degree.items() if d == max(degree.values())}
    height = dict.fromkeys(g, math.inf)
    height.update(nx.multi_source_dijkstra_path_length(g, up))
    hops = nx.single_source_shortest_path_length(g, target, cutoff=depth)
    after = g.copy()
    after.remove_node(target)
    live = up - {target}
    reach = set().union(*(nx.node_connected_component(after, u) for u in live)) if live else set()

    def oriented(graph: nx.MultiGraph) -> nx.DiGraph:
        d: nx.DiGraph[str] = nx.DiGraph()
        for a, b in graph.edges():
            for x, y in ((a, b), (b, a)):
                if height[y] <= height[x]:
                    cap = d.get_edge_data(x, y, {"capacity": 0})["capacity"]
                    d.add_edge(x, y, capacity=cap + 1)
        return d

    d_before, d_after = oriented(g), oriented(after)

    def paths(d: nx.DiGraph, v: str, sinks: set[str]) -> int:
        if v not in d:
            return 0
        region = nx.descendants(d, v) | {v}
        sub = d.subgraph(region).copy()
        for t in sinks & region:
            sub.add_edge(t, "__sink__")
        if "__sink__" not in sub:
            return 0
        return int(nx.maximum_flow_value(sub, v, "__sink__"))

    affected, degraded = {target}, set()
    for v in hops:
        if v == target or v in live or height[v] == math.inf:
            continue
        if v not in reach:
            affected.add(v)
        elif paths(d_after, v, live) < paths(d_before, v, up):
            degraded.add(v)
    return affected, degraded


def _upstream_role(role: str | None) -> bool:
    from meshq_graph_engine.blast import UPSTREAM_ROLES

    return (role or "").lower().replace("-", "_") in UPSTREAM_ROLES


async def _run(devices: int, repeats: int, nx_repeats: int) -> dict[str, Any]:
    from meshq_graph_engine.blast import load_topology, run_scenario
    from meshq_graph_engine.engine import GraphEngine
    from meshq_runtime.graph.store import EmbeddedStore

    from bench.synth import generate

    net = generate(devices)
    out: dict[str, Any] = {"devices": devices, "repeats": repeats, "cases": {}}
    with tempfile.TemporaryDirectory(prefix="meshq-bench-blast-") as tmp:
        store = EmbeddedStore(Path(tmp) / "graph")
        engine = GraphEngine(store)
        await engine.start()
        await engine.apply_snapshot(net.snapshot)
        started = time.perf_counter()
        topology = await load_topology(store, engine)
        out["topology_load_s"] = round(time.perf_counter() - started, 2)
        out["logical_links"] = len(topology.logical)
        _say(f"blast: topology of {len(topology.ids)} devices read in {out['topology_load_s']}s")
        by_role: dict[str, str] = {}
        for device in sorted(topology.devices.values(), key=lambda d: d.id):
            by_role.setdefault(device.role or "", device.id)
        for role in ("core", "distribution", "access"):
            target = by_role[role]
            for depth in (3, 6):
                timings = []
                result = None
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    result = await run_scenario(store, engine, "device_failure", target, depth)
                    timings.append((time.perf_counter() - t0) * 1000)
                assert result is not None
                nx_timings = []
                answer: tuple[set[str], set[str]] = (set(), set())
                for _ in range(nx_repeats):
                    t0 = time.perf_counter()
                    answer = networkx_answer(topology, target, depth)
                    nx_timings.append((time.perf_counter() - t0) * 1000)
                agree = answer == (set(result.affected_devices), set(result.degraded_devices))
                case = {
                    "target": target,
                    "p50_ms": _pct(timings, 0.5),
                    "p95_ms": _pct(timings, 0.95),
                    "networkx_p50_ms": _pct(nx_timings, 0.5),
                    "ratio": round(_pct(nx_timings, 0.5) / max(_pct(timings, 0.5), 1e-6), 1),
                    "affected": len(result.affected_devices),
                    "degraded": len(result.degraded_devices),
                    "same_answer": agree,
                }
                out["cases"][f"{role} depth {depth}"] = case
                _say(f"blast {role} depth {depth}: {case}")
        await store.close()
    return out


def run(devices: int, repeats: int, nx_repeats: int = 3) -> dict[str, Any]:
    return asyncio.run(_run(devices, repeats, nx_repeats))


def markdown(r: dict[str, Any]) -> list[str]:
    lines = [
        f"## Blast radius (chaos-simulate, device failure), {r['devices']} devices",
        "",
        f"Topology read from LadybugDB once per graph revision: {r['topology_load_s']} s "
        f"({r['logical_links']} logical links). Timed: the simulation inside graph-engine; "
        f"networkx: the same answer with networkx only, in the same run.",
        "",
        "| failed device | depth | p50 ms | p95 ms | networkx p50 ms | networkx / ours | "
        "affected | degraded | same answer |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, c in r["cases"].items():
        role, _, depth = name.partition(" depth ")
        lines.append(
            f"| {role} ({c['target']}) | {depth} | {c['p50_ms']} | {c['p95_ms']} | "
            f"{c['networkx_p50_ms']} | {c['ratio']}x | {c['affected']} | {c['degraded']} | "
            f"{'yes' if c['same_answer'] else 'NO'} |"
        )
    return [*lines, ""]
