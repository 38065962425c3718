"""Blast radius figures: chaos-simulate (device failure) on the synthetic network for a core, a
distribution and an access device at depth 3 and 6, p50/p95, and the same answer computed
with plain networkx in the same run (``NetworkxBaseline``: one graph of upstream steps built
once, a maximum flow per device that could have lost paths). Both answers are compared device
for device: status, paths before, paths after.

The timed call is what ``POST /graph/chaos-simulate`` runs inside graph-engine (target
resolution, the simulation, the summary) with the topology already read for the current graph
revision and its flow index built; the first read of the topology from the store, the index
build and the networkx graphs are reported on their own. HTTP and the gateway add what the
gateway section measures. Last, a change is applied and the first chaos-simulate after it
timed (the topology brought up to date from the change, the flow index built again), beside
the time a whole read of the topology takes.
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


SINK = "__upstream__"

#: A device's answer: status (affected or degraded), paths before, paths after.
Answer = dict[str, tuple[str, int, int]]


class NetworkxBaseline:
    """The same answer with networkx only, in its plainest efficient form.

    Once per graph (timed on its own, like the flow index): the device multigraph, the heights,
    and one directed graph of upstream steps (an arc per direction a link may be taken, its
    capacity the number of parallel links) with every upstream device joined to one sink. Per
    failure: breadth-first hops, one copy of each graph without the failed device (networkx
    views that hide nodes make every traversal linear in the whole graph), reachability from
    the live upstream, and for each device within depth whose upstream region (what its steps
    can reach) holds the failed device, or that is cut off, one Edmonds-Karp maximum flow
    before and one after (the latter stopping at the count before) on a view of its region.
    A device whose region holds nothing that failed keeps its paths.
    """

    def __init__(self, topology: Any) -> None:
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
        d: nx.DiGraph[str] = nx.DiGraph()
        d.add_nodes_from(g)
        for a, b in g.edges():
            for x, y in ((a, b), (b, a)):
                if height[y] <= height[x]:
                    cap = d.get_edge_data(x, y, {"capacity": 0})["capacity"]
                    d.add_edge(x, y, capacity=cap + 1)
        d.add_edges_from((u, SINK) for u in up)  # no capacity: unbounded
        self.g, self.d, self.up, self.height = g, d, up, height

    def answer(self, target: str, depth: int) -> Answer:
        """Affected and degraded devices (with their counts) when ``target`` fails."""
        import networkx as nx

        hops = nx.single_source_shortest_path_length(self.g, target, cutoff=depth)
        dead = {target}
        g_after, d_after = self.g.copy(), self.d.copy()
        g_after.remove_nodes_from(dead)
        d_after.remove_nodes_from(dead)
        live = self.up - dead
        reach: set[str] = set()
        for u in sorted(live):
            if u not in reach:
                reach |= nx.node_connected_component(g_after, u)
        out: Answer = {}
        for v in hops:
            if v in dead or v in live or self.height[v] == math.inf:
                continue
            region = nx.descendants(self.d, v) | {v}
            cut_off = v not in reach
            if not cut_off and region.isdisjoint(dead):
                continue
            before = _max_flow(self.d, v, region)
            if cut_off:
                out[v] = ("affected", before, 0)
                continue
            after = _max_flow(d_after, v, nx.descendants(d_after, v) | {v}, cutoff=before)
            if after < before:
                out[v] = ("degraded", before, after)
        return out


def _max_flow(graph: Any, source: str, region: set[str], cutoff: int | None = None) -> int:
    import networkx as nx
    from networkx.algorithms.flow import edmonds_karp

    if SINK not in region:
        return 0
    sub = graph.subgraph(region)
    return int(nx.maximum_flow_value(sub, source, SINK, flow_func=edmonds_karp, cutoff=cutoff))


def _upstream_role(role: str | None) -> bool:
    from meshq_graph_engine.blast import UPSTREAM_ROLES

    return (role or "").lower().replace("-", "_") in UPSTREAM_ROLES


async def _run(devices: int, repeats: int, nx_repeats: int) -> dict[str, Any]:
    from meshq_graph_engine.blast import load_topology, run_scenario
    from meshq_graph_engine.blast._analysis import flow_index
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
        started = time.perf_counter()
        index = flow_index(topology)
        out["index_build_s"] = round(time.perf_counter() - started, 3)
        out["index_mb"] = round(index.nbytes() / 1e6, 1)
        started = time.perf_counter()
        baseline = NetworkxBaseline(topology)
        out["networkx_prep_s"] = round(time.perf_counter() - started, 2)
        _say(
            f"blast: flow index built in {out['index_build_s']}s ({out['index_mb']} MB); "
            f"networkx graphs in {out['networkx_prep_s']}s"
        )
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
                answer: Answer = {}
                for _ in range(nx_repeats):
                    t0 = time.perf_counter()
                    answer = baseline.answer(target, depth)
                    nx_timings.append((time.perf_counter() - t0) * 1000)
                ours = {
                    i.device: (i.status, i.paths_before, i.paths_after)
                    for i in result.impacts
                    if not i.failed
                }
                case = {
                    "target": target,
                    "p50_ms": _pct(timings, 0.5),
                    "p95_ms": _pct(timings, 0.95),
                    "networkx_p50_ms": _pct(nx_timings, 0.5),
                    "ratio": round(_pct(nx_timings, 0.5) / max(_pct(timings, 0.5), 1e-6), 1),
                    "affected": len(result.affected_devices),
                    "degraded": len(result.degraded_devices),
                    "same_answer": answer == ours,
                }
                out["cases"][f"{role} depth {depth}"] = case
                _say(f"blast {role} depth {depth}: {case}")
        out["after_change"] = await _after_change(net, store, engine, by_role["core"])
        _say(f"blast after a change: {out['after_change']}")
        await store.close()
    return out


async def _after_change(net: Any, store: Any, engine: Any, target: str) -> dict[str, Any]:
    """A change (1% of the access switches re-collected: endpoints gone, an uplink's LLDP
    entry lost), then chaos-simulate's first call (the topology brought up to date, the flow
    index built, the simulation); then another change, with the topology's update and the
    index build timed on their own."""
    from meshq_graph_engine.blast import load_topology, read_topology, run_scenario
    from meshq_graph_engine.blast._analysis import flow_index
    from meshq_graph_engine.blast._live import live_topology

    from bench.synth import incremental_change

    live = live_topology(store, engine)
    await engine.apply_snapshot(incremental_change(net, 0.01, seed=11))
    t0 = time.perf_counter()
    await run_scenario(store, engine, "device_failure", target, 6)
    first_ms = round((time.perf_counter() - t0) * 1000, 1)
    how = live.last
    await engine.apply_snapshot(incremental_change(net, 0.01, seed=12))
    t0 = time.perf_counter()
    topology = await load_topology(store, engine)
    update_ms = round((time.perf_counter() - t0) * 1000, 1)
    t0 = time.perf_counter()
    flow_index(topology)
    index_ms = round((time.perf_counter() - t0) * 1000, 1)
    t0 = time.perf_counter()
    await read_topology(store)
    read_ms = round((time.perf_counter() - t0) * 1000, 1)
    return {
        "first_ms": first_ms,
        "how": how,
        "update_ms": update_ms,
        "index_ms": index_ms,
        "whole_read_ms": read_ms,
    }


def run(devices: int, repeats: int, nx_repeats: int = 3) -> dict[str, Any]:
    return asyncio.run(_run(devices, repeats, nx_repeats))


def markdown(r: dict[str, Any]) -> list[str]:
    once = f"Topology read from LadybugDB once per graph revision: {r['topology_load_s']} s "
    once += f"({r['logical_links']} logical links)"
    if "index_build_s" in r:
        once += (
            f"; flow index built once per revision: {r['index_build_s']} s "
            f"({r['index_mb']} MB); networkx graphs: {r['networkx_prep_s']} s"
        )
    lines = [
        f"## Blast radius (chaos-simulate, device failure), {r['devices']} devices",
        "",
        f"{once}. Timed: the simulation inside graph-engine; networkx: the same answer with "
        "networkx only, in the same run.",
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
    if a := r.get("after_change"):
        lines += [
            "",
            f"After a change (1% of the access switches re-collected), the first chaos-simulate "
            f"(core, depth 6): {a['first_ms']} ms (topology {a['how']} from the change). After "
            f"another: topology brought up to date in {a['update_ms']} ms, flow index built in "
            f"{a['index_ms']} ms; reading the topology whole takes {a['whole_read_ms']} ms.",
        ]
    return [*lines, ""]
