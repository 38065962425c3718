"""A simulated fabric through the whole read path: ibsim runs a fat tree, the real
infiniband-diags print it, the outputs are saved as a host's folder of CLI output and
ingested as a snapshot into the graph, and ``ib_topology`` and ``ib_ports_down`` must answer
what the net file and the simulator's own breakage say."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, run_query
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.model import FactKind
from network_discovery.parsers import parse_directory
from network_discovery.parsers.gpu import parse_topo_matrix
from support.front_door import ADMIN_KEY, start_gateway
from support.ib_fabric import FatTree, fat_tree
from support.ibsim_lab import IbSim, missing_tools

_MISSING = missing_tools()
pytestmark = pytest.mark.skipif(
    bool(_MISSING),
    reason=f"InfiniBand simulator tools not installed ({', '.join(_MISSING)}): "
    "apt-get install ibsim-utils infiniband-diags opensm",
)


def _g(value: int) -> str:
    return f"0x{value:016x}"


def _cables(
    tree: FatTree, cut: set[tuple[str, int]] = frozenset()
) -> set[frozenset[tuple[str, int]]]:
    """Every cable of the net file as its two (node GUID, port) ends, less the cut ones."""
    out = set()
    for c in tree.cables:
        if (c.a, c.a_port) in cut or (c.b, c.b_port) in cut:
            continue
        a, b = tree.nodes[c.a], tree.nodes[c.b]
        out.add(frozenset({(_g(a.guid), c.a_port), (_g(b.guid), c.b_port)}))
    return out


TOPO = (
    Path(__file__).resolve().parents[2]
    / "fixtures"
    / "real"
    / "gpu"
    / "topo"
    / "h800-8gpu-4nic.txt"
)


def _capture(sim: IbSim, tree: FatTree, root: Path, host: str) -> None:
    sm = root / "ib-sm01"
    sm.mkdir(parents=True)
    (sm / "ibnetdiscover.txt").write_text(sim.run("ibnetdiscover"))
    (sm / "iblinkinfo.txt").write_text(sim.run("iblinkinfo"))
    (sm / "ibqueryerrors.txt").write_text(sim.run("ibqueryerrors", "--skip-sl", check=False))
    node = tree.nodes[f"{host}-mlx5_0"]
    folder = root / host
    folder.mkdir()
    (folder / "ibstat.txt").write_text(sim.run("ibstat", host=node.sim_id))
    (folder / "nvidia-smi topo -m.txt").write_text(TOPO.read_text())  # a real 8-GPU host


async def _ingest(root: Path, db: Path) -> AsyncIterator[QueryContext]:
    snapshot, report = parse_directory(root)
    assert [i for i in report.issues if i.severity == "error"] == []
    scope = snapshot.scope_map()
    assert scope["gpu-0101"] == {FactKind.IB_ADAPTERS, FactKind.GPU_AFFINITY}
    assert scope["ib-sm01"] == {
        FactKind.IB_NODES,
        FactKind.IB_PORTS,
        FactKind.IB_LINKS,
        FactKind.IB_COUNTERS,
    }
    store = EmbeddedStore(db)
    engine = GraphEngine(store)
    await engine.start()
    await engine.apply_snapshot(snapshot)
    try:
        yield QueryContext(store, engine)
    finally:
        await store.close()


async def _rows(ctx: QueryContext, name: str, params: dict) -> list[dict]:
    return (await run_query(REGISTRY, name, params, ctx)).rows


@pytest.fixture(scope="module")
def tree() -> FatTree:
    return fat_tree(leaves=4, spines=2, hosts_per_leaf=2, hcas_per_host=2, narrow=((0, 1),))


async def test_ingested_fabric_answers_as_the_net_file(tree: FatTree, tmp_path: Path) -> None:
    (tmp_path / "sim").mkdir()
    sim = IbSim(tree.netfile(), tmp_path / "sim").start()
    try:
        sim.console('PerformanceSet "leaf01"[1] PortCounters.SymbolErrorCounter=17')
        _capture(sim, tree, tmp_path / "out", "gpu-0101")
    finally:
        sim.stop()
    async for ctx in _ingest(tmp_path / "out", tmp_path / "db" / "g"):
        rows = await _rows(ctx, "ib_topology", {})
        seen = {
            frozenset({(r["node_guid"], r["port"]), (r["peer_node_guid"], r["peer_port"])})
            for r in rows
            if r["peer_node_guid"] is not None
        }
        assert seen == _cables(tree)
        hosts = {r["host"] for r in rows if r["node_type"] == "ca"}
        assert hosts == {n.host for n in tree.hcas}
        leaf = await _rows(ctx, "ib_topology", {"switch": "leaf01", "state": "active"})
        cabled = {(c.a, c.a_port) for c in tree.cables} | {(c.b, c.b_port) for c in tree.cables}
        name = tree.nodes["leaf01"].description
        assert {r["port"] for r in leaf if r["node"] == name} == {
            p for (s, p) in cabled if s == "leaf01"
        }
        # and every port cabled to it: its hosts' adapters and the spines' downlinks
        assert {r["peer_port"] for r in leaf if r["node"] != name} == {
            p for (s, p) in cabled if s == "leaf01"
        }
        down = await _rows(ctx, "ib_ports_down", {"switch": "leaf01"})
        by_port = {(r["node"], r["port"]): r for r in down}
        errors = by_port[(name, 1)]
        assert errors["errors"] == {"symbol_errors": 17}
        assert [r for r in down if r["errors"]] == [errors]
        narrow = by_port[(name, 3)]  # gpu-0102's first adapter, cabled 1x
        assert narrow["width"] == "1x" and "degraded_width" in narrow["reasons"]

        # the host's GPUs meet the fabric's adapters through topo -m's nearest NICs
        gpus = await _rows(ctx, "dcgm_gpu_health", {"host": "gpu-0101"})
        affinity = parse_topo_matrix(TOPO.read_text(), host="gpu-0101").affinities
        assert [g["index"] for g in gpus] == sorted({a.gpu_index for a in affinity})
        for gpu in gpus:
            mine = [a for a in affinity if a.gpu_index == gpu["index"]]
            best = min(a.connection.rank for a in mine)
            nearest = sorted(a.hca for a in mine if a.connection.rank == best)
            assert sorted(gpu["hcas"]) == nearest
            in_fabric = [tree.nodes.get(f"gpu-0101-{h}") for h in nearest]
            assert gpu["hca_node_guids"] == sorted(_g(n.guid) for n in in_fabric if n)
            assert gpu["verdict"] == "unknown"  # no sample was collected
        assert any(g["hca_node_guids"] for g in gpus) and any(not g["hca_node_guids"] for g in gpus)


async def test_ports_taken_down_are_listed(tree: FatTree, tmp_path: Path) -> None:
    (tmp_path / "sim").mkdir()
    sim = IbSim(tree.netfile(), tmp_path / "sim").start()
    uplink = next(c for c in tree.cables if c.a.startswith("leaf") and c.b.startswith("spine"))
    try:
        sim.console(f'Unlink "{uplink.a}"[{uplink.a_port}]')
        _capture(sim, tree, tmp_path / "out", "gpu-0101")
    finally:
        sim.stop()
    cut = {(uplink.a, uplink.a_port), (uplink.b, uplink.b_port)}
    async for ctx in _ingest(tmp_path / "out", tmp_path / "db" / "g"):
        rows = await _rows(ctx, "ib_topology", {})
        seen = {
            frozenset({(r["node_guid"], r["port"]), (r["peer_node_guid"], r["peer_port"])})
            for r in rows
            if r["peer_node_guid"] is not None
        }
        assert seen == _cables(tree, cut)
        # without a known cable, a down switch port is listed only on request
        default = await _rows(ctx, "ib_ports_down", {})
        assert not [r for r in default if "down" in r["reasons"]]
        every = await _rows(ctx, "ib_ports_down", {"include_unlinked": True})
        listed = {(r["node_guid"], r["port"]) for r in every if "down" in r["reasons"]}
        cabled = {(c.a, c.a_port) for c in tree.cables} | {(c.b, c.b_port) for c in tree.cables}
        unused = {
            (_g(n.guid), p)
            for n in tree.switches
            for p in range(1, n.ports + 1)
            if (n.sim_id, p) not in cabled
        }
        expected = unused | {(_g(tree.nodes[s].guid), p) for s, p in cut}
        assert listed == expected


@pytest.mark.integration
def test_meshq_ingest_submits_the_fabric(
    tree: FatTree, service_env, graph_engine, spawn, tmp_path: Path
) -> None:
    """The same outputs through the ``meshq ingest`` command, the REST API and the bus: the
    graph engine adds every node, connected port and cable of the net file."""
    (tmp_path / "sim").mkdir()
    sim = IbSim(tree.netfile(), tmp_path / "sim").start()
    try:
        sm = tmp_path / "out" / "ib-sm01"
        sm.mkdir(parents=True)
        (sm / "ibnetdiscover.txt").write_text(sim.run("ibnetdiscover"))
        (sm / "iblinkinfo_--line.txt").write_text(sim.run("iblinkinfo", "--line"))
    finally:
        sim.stop()
    gateway = start_gateway(spawn, service_env, MESHQ_GRAPH_ENGINE_URL=graph_engine.url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MESHQ_", "MESHOPTIXIQ"))}
    env.update(
        MESHOPTIXIQ_API_URL=gateway.url,
        MESHOPTIXIQ_API_KEY=ADMIN_KEY,
        MESHQ_DATA_DIR=str(tmp_path / "nowhere"),
        MESHQ_NO_LICENSE_WARNING="1",
    )
    result = subprocess.run(
        [sys.executable, "-m", "network_discovery.cli", "ingest", str(tmp_path / "out"), "--wait"],
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert result.returncode == 0, result.stderr
    added = result.stdout.split("added:")[1].splitlines()[0]
    assert f"{len(tree.nodes)} ib_nodes" in added
    assert f"{2 * len(tree.cables)} ib_ports" in added  # iblinkinfo --line: connected ports
    assert f"{len(tree.cables)} ib_links" in added
