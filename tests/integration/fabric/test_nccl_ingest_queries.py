"""An NCCL job on a simulated fabric through the whole read path: ibsim runs a two-leaf fat
tree and the real infiniband-diags print it; a 4-host x 8-GPU job's NCCL_DEBUG=INFO log is
written for hosts cabled in that tree (tests/support/nccl_job.py), with a real nccl-tests
table beside it; everything is ingested as one directory of CLI output, and ``nccl_jobs``,
``nccl_flows_by_job`` and ``nccl_top_talkers`` must answer what the job's layout and the net
file say."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, run_query
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.model import Snapshot
from network_discovery.parsers import parse_directory
from network_discovery.parsers.infiniband import parse_ibnetdiscover
from support.front_door import ADMIN_KEY, start_gateway
from support.ib_fabric import FatTree, fat_tree
from support.ibsim_lab import IbSim, missing_tools
from support.nccl_job import write_job_log

_MISSING = missing_tools()
pytestmark = pytest.mark.skipif(
    bool(_MISSING),
    reason=f"InfiniBand simulator tools not installed ({', '.join(_MISSING)}): "
    "apt-get install ibsim-utils infiniband-diags opensm",
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "real"
TOPO = FIXTURES / "gpu" / "topo" / "h800-8gpu-4nic.txt"
TABLE = FIXTURES / "nccl" / "nccl-tests" / "nccl-340-all-reduce-2.6.txt"
GPUS = 8
#: the job's hosts, as the tree names them: two on each leaf
HOSTS = ["gpu-0101", "gpu-0102", "gpu-0201", "gpu-0202"]


def _g(value: int) -> str:
    return f"0x{value:016x}"


def _leaf_of(tree: FatTree) -> dict[str, tuple[str, int]]:
    """HCA sim id -> (its leaf's sim id, the leaf port it is cabled to)."""
    return {
        c.b: (c.a, c.a_port) for c in tree.cables if c.b in tree.nodes and c.a.startswith("leaf")
    }


@pytest.fixture(scope="module")
def tree() -> FatTree:
    return fat_tree(leaves=2, spines=2, hosts_per_leaf=2, hcas_per_host=GPUS, uplinks_per_spine=1)


def _switch_lids(sim: IbSim) -> dict[str, int]:
    """Each switch's node description -> its LID, as ibnetdiscover prints them."""
    nodes = parse_ibnetdiscover(sim.run("ibnetdiscover")).nodes
    return {n.description or n.guid: n.lid for n in nodes if n.lid}


async def _ingest(
    tree: FatTree, tmp: Path, *, routes: bool = False
) -> AsyncIterator[tuple[QueryContext, Any]]:
    """The job ingested with the fabric; with ``routes``, every switch's ``ibroute`` too, and
    the simulator kept running (the third item) until the block ends."""
    (tmp / "sim").mkdir()
    sim = IbSim(tree.netfile(), tmp / "sim").start()
    root = tmp / "out"
    try:
        sm = root / "ib-sm01"
        sm.mkdir(parents=True)
        (sm / "ibnetdiscover.txt").write_text(sim.run("ibnetdiscover"))
        if routes:
            for lid in _switch_lids(sim).values():
                (sm / f"ibroute_{lid}.txt").write_text(sim.run("ibroute", str(lid)))
        for host in HOSTS:  # each host's GPUs, as a real 8-GPU server's topo -m shows them
            (root / host).mkdir()
            (root / host / "nvidia-smi topo -m.txt").write_text(TOPO.read_text())
        layout = write_job_log(hosts=4, gpus=GPUS, style="2.2x")
        text = layout.text
        for n, host in enumerate(HOSTS):
            text = text.replace(f"gpu-node-{n + 1:02d}", host)
        job = root / "train-llm"
        job.mkdir()
        (job / "job.yaml").write_text("job_id: train-42\nstarted_at: 2026-12-01T10:00:00Z\n")
        (job / "ranks.log").write_text(text)
        (job / "all_reduce_perf.txt").write_text(TABLE.read_text())
        snapshot, report = parse_directory(root)
        assert [i for i in report.issues if i.severity == "error"] == []
        store = EmbeddedStore(tmp / "db" / "g")
        engine = GraphEngine(store)
        await engine.start()
        await engine.apply_snapshot(snapshot)
        try:
            yield QueryContext(store, engine), (layout, snapshot, sim, root)
        finally:
            await store.close()
    finally:
        sim.stop()


async def _rows(ctx: QueryContext, name: str, params: dict) -> list[dict]:
    return (await run_query(REGISTRY, name, params, ctx)).rows


def _host(rank: int) -> str:
    return HOSTS[rank // GPUS]


async def test_the_job_its_flows_and_top_talkers_follow_the_layout(
    tree: FatTree, tmp_path: Path
) -> None:
    leaf = _leaf_of(tree)
    async for ctx, (layout, snapshot, _sim, _root) in _ingest(tree, tmp_path):
        (job,) = await _rows(ctx, "nccl_jobs", {"job_id": "TRAIN-42"})
        assert (job["ranks"], job["nranks"], job["hosts"]) == (32, 32, HOSTS)
        assert job["nccl_version"] == layout.version and job["communicators"] == [layout.comm_id]
        assert job["gpus"] == sorted(f"gpu:{h}:{g}" for h in HOSTS for g in range(GPUS))
        assert job["ranks_without_gpu"] == 0  # each by its NVML index (topo -m has no bus id)
        used = sorted({f"{_host(r)} {h}" for r, want in layout.ranks.items() for h in want.hcas})
        assert job["hca_ports"] == used and job["hca_ports_in_fabric"] == len(used)
        crossings = {  # (src, dst) ranks whose ring hop leaves the host
            (c.src_rank, c.dst_rank) for c in snapshot.nccl_connections if c.transport == "net"
        }
        assert job["connections"] == {"net": len(crossings), "p2p": 32}
        assert job["measurement"] is not None

        # every network flow: each end's own HCA, the leaf port it is cabled to in the net file
        flows = await _rows(ctx, "nccl_flows_by_job", {"job_id": "train-42", "transport": "net"})
        assert {(f["src_rank"], f["dst_rank"]) for f in flows} == crossings
        measured = job["measurement"]
        for f in flows:
            ends = []
            for side in ("src", "dst"):
                rank = f[f"{side}_rank"]
                assert f[f"{side}_host"] == _host(rank)
                assert f[f"{side}_gpu"] == f"gpu:{_host(rank)}:{rank % GPUS}"
                (end,) = f[f"{side}_end"]
                hca = tree.nodes[f"{_host(rank)}-mlx5_{rank % GPUS}"]
                switch, port = leaf[hca.sim_id]
                assert end["hca"] == f"mlx5_{rank % GPUS}:1"
                assert end["port_guid"] == _g(hca.port_guid(1))
                assert (end["switch_guid"], end["switch_port"]) == (
                    _g(tree.nodes[switch].guid),
                    port,
                )
                ends.append(switch)
            if ends[0] == ends[1]:
                assert (f["path"], f["path_known"]) == ("same_switch", True)
            else:  # across the spines: never named without the forwarding tables
                assert (f["path"], f["path_known"]) == ("across_switches", False)
                assert "forwarding tables" in f["path_note"]
                assert f["fabric_path"] == []
                assert f["spine_candidates"] == ["MF0;spine01:MQM8700/U1", "MF0;spine02:MQM8700/U1"]
            assert not any("spine" in link for link in f["fabric_links"])
            # each pair is in one of the job's two rings: half the bus bandwidth
            assert f["ring_channels"] and len(f["ring_channels"]) == 1
            assert f["est_gb_per_s"] == pytest.approx(measured["busbw_gbps"] / 2)
        paths = {f["path"] for f in flows}
        assert paths == {"same_switch", "across_switches"}

        local = await _rows(ctx, "nccl_flows_by_job", {"job_id": "train-42", "transport": "p2p"})
        assert len(local) == 32 and {f["path"] for f in local} == {"in_host"}

        talkers = await _rows(ctx, "nccl_top_talkers", {"job_id": "train-42"})
        assert {(t["src"], t["dst"]) for t in talkers} == {
            (f"{_host(s)} mlx5_{s % GPUS}:1", f"{_host(d)} mlx5_{d % GPUS}:1") for s, d in crossings
        }
        assert [t["src"] for t in talkers] == sorted(t["src"] for t in talkers)  # equal volumes
        for t in talkers:
            assert [link["direction"] for link in t["links"]] in (
                ["from_fabric", "to_fabric"],
                ["to_fabric", "from_fabric"],
            )
        by_host = await _rows(ctx, "nccl_top_talkers", {"job_id": "train-42", "by": "host"})
        assert {(t["src"], t["dst"]) for t in by_host} == {
            (_host(s), _host(d)) for s, d in crossings
        }


_TRACE = re.compile(
    r"^\[(?P<out>\d+)\] -> (?P<kind>switch|ca) port \{(?P<guid>0x[0-9a-f]+)\}\[(?P<in>\d+)\]"
)


def _traced(sim: IbSim, src_lid: int, dst_lid: int) -> list[tuple[str, int, int]]:
    """The switches ibtracert (the real tool) crosses from one LID to another: (GUID, port
    in, port out) each."""
    hops: list[list[Any]] = []
    for line in sim.run("ibtracert", str(src_lid), str(dst_lid)).splitlines():
        m = _TRACE.match(line)
        if m is None:
            continue
        if hops:
            hops[-1][2] = int(m["out"])
        if m["kind"] == "switch":
            hops.append([f"0x{int(m['guid'], 16):016x}", int(m["in"]), None])
    return [(h[0], h[1], h[2]) for h in hops]


async def test_flow_paths_follow_the_forwarding_tables(tree: FatTree, tmp_path: Path) -> None:
    async for ctx, (_layout, _snapshot, sim, root) in _ingest(tree, tmp_path, routes=True):
        flows = await _rows(ctx, "nccl_flows_by_job", {"job_id": "train-42", "transport": "net"})
        across = [f for f in flows if f["path"] == "across_switches"]
        assert across and all(f["path_known"] for f in across)
        for f in across:
            (src,), (dst,) = f["src_end"], f["dst_end"]
            hops = [(h["switch_guid"], h["in_port"], h["out_port"]) for h in f["fabric_path"]]
            assert hops == _traced(sim, src["lid"], dst["lid"])  # leaf, spine, leaf
            assert len(hops) == 3 and "spine" in (f["fabric_path"][1]["switch"] or "")
            assert f["spine_candidates"] == [] and f["path_note"] is None
        same = [f for f in flows if f["path"] == "same_switch"]
        assert same and all(len(f["fabric_path"]) == 1 for f in same)
        # the spines' cables carry the flows, and top talkers say which
        talkers = await _rows(ctx, "nccl_top_talkers", {"job_id": "train-42"})
        inner = {
            link["link"]
            for t in talkers
            for link in t["links"]
            if link["direction"] == "between_switches"
        }
        assert inner and all("spine" in link for link in inner)

        # the next sweep has no spine's table: no spine is named as if known
        spines = {lid for name, lid in _switch_lids(sim).items() if "spine" in name}
        for lid in spines:
            (root / "ib-sm01" / f"ibroute_{lid}.txt").unlink()
        for folder in ("train-llm", *HOSTS):
            shutil.rmtree(root / folder)
        again, report = parse_directory(root)
        assert report.errors == []
        assert ctx.engine is not None
        await ctx.engine.apply_snapshot(
            Snapshot.model_validate({**again.model_dump(mode="json"), "snapshot_id": "later"})
        )
        flows = await _rows(ctx, "nccl_flows_by_job", {"job_id": "train-42", "transport": "net"})
        across = [f for f in flows if f["path"] == "across_switches"]
        for f in across:
            assert (f["path_known"], f["fabric_path"]) == (False, [])
            assert "no forwarding table of MF0;spine0" in f["path_note"]
            assert f["spine_candidates"] == ["MF0;spine01:MQM8700/U1", "MF0;spine02:MQM8700/U1"]


@pytest.mark.integration
def test_meshq_ingest_submits_a_job_and_replaces_it(
    service_env, graph_engine, spawn, tmp_path: Path
) -> None:
    """A job folder through the ``meshq ingest`` command, the REST API and the bus; the same
    job ingested again with fewer ranks replaces its ranks."""
    gateway = start_gateway(spawn, service_env, MESHQ_GRAPH_ENGINE_URL=graph_engine.url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MESHQ_", "MESHOPTIXIQ"))}
    env.update(
        MESHOPTIXIQ_API_URL=gateway.url,
        MESHOPTIXIQ_API_KEY=ADMIN_KEY,
        MESHQ_DATA_DIR=str(tmp_path / "nowhere"),
        MESHQ_NO_LICENSE_WARNING="1",
    )

    def ingest(hosts: int) -> dict[str, str]:
        job = tmp_path / f"job-{hosts}"
        job.mkdir()
        (job / "job.yaml").write_text("job_id: run-7\n")
        (job / "ranks.log").write_text(write_job_log(hosts=hosts, gpus=4).text)
        result = subprocess.run(
            [sys.executable, "-m", "network_discovery.cli", "ingest", str(job), "--wait"],
            env=env,
            capture_output=True,
            text=True,
            timeout=150,
        )
        assert result.returncode == 0, result.stderr
        lines = [line.partition(":") for line in result.stdout.splitlines()]
        return {k: v for k, _, v in lines if k in ("added", "removed")}

    first = ingest(2)
    assert "1 nccl_jobs" in first["added"] and "8 nccl_ranks" in first["added"]
    again = ingest(1)
    assert "4 nccl_ranks" in again["removed"]  # the second host's ranks went with the re-ingest
