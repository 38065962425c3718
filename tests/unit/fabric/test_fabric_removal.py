"""Later snapshots that take things away: an adapter no longer seen by the sweep, a host's
device and GPUs gone, a switch gone, a whole NCCL job gone. What depended on them must go or
be tied again: the graph kept up to date step by step must equal the graph built whole from
the same facts and the one the store holds, and ``ib_topology``, ``dcgm_gpu_health``,
``nccl_flows_by_job`` and ``blast_radius_fabric`` must no longer name what was removed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, run_query
from meshq_graph_engine.engine import GraphEngine
from meshq_graph_engine.fabric import FABRIC_KINDS
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.model import Snapshot
from support.projection_check import apply_and_check, scoped_snapshot

SPINE = "0x0c42a10300000a00"
LEAF = {1: "0x0c42a10300000100", 2: "0x0c42a10300000200"}
#: host -> (its leaf, the leaf port its adapter is cabled to, the adapter's node GUID)
HOSTS = {
    "gpu-01": (1, 1, "0xb8cef60300000010"),
    "gpu-02": (2, 1, "0xb8cef60300000020"),
}
SWEEP = ["ib_nodes", "ib_ports", "ib_links"]
HOST_KINDS = ["gpus", "gpu_health", "gpu_affinity"]
NCCL = ["nccl_jobs", "nccl_ranks", "nccl_connections", "nccl_results"]
LABELS = ("IBNode", "IBPort", "GPU", "NcclJob", "NcclRank")
RELS = (
    "HAS_IB_PORT",
    "IB_LINK",
    "HAS_HCA",
    "HAS_GPU",
    "NEAR_HCA",
    "HAS_RANK",
    "RANK_GPU",
    "RANK_HCA_PORT",
    "RUNS_RANK",
    "NCCL_CONNECTION",
)


def _ca_port(host: str) -> str:
    return f"0x{int(HOSTS[host][2], 16) + 1:016x}"


def _sweep(*, hosts: tuple[str, ...] = tuple(HOSTS), spine: bool = True) -> dict[str, Any]:
    """What the sweeping host ``sm`` sees: the leaves, the spine when there, the adapters of
    ``hosts`` (each port up, cables at 4x HDR)."""
    nodes: list[dict[str, Any]] = []
    ports: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []

    def switch(guid: str, name: str) -> None:
        nodes.append(
            {"device": "sm", "guid": guid, "node_type": "switch", "description": f"MF0;{name}:X"}
        )

    def port(guid: str, number: int, **extra: Any) -> None:
        ports.append(
            {
                "device": "sm",
                "port_guid": guid,
                "port": number,
                "state": "active",
                "width": "4x",
                "speed": "HDR",
                **extra,
            }
        )

    def cable(a: str, a_port: int, b: str, b_port: int) -> None:
        links.append(
            {
                "device": "sm",
                "a_guid": a,
                "a_port": a_port,
                "b_guid": b,
                "b_port": b_port,
                "width": "4x",
                "speed": "HDR",
            }
        )

    for n, guid in LEAF.items():
        switch(guid, f"leaf0{n}")
        if spine:
            port(guid, 9, node_type="switch")
    if spine:
        switch(SPINE, "spine01")
        for n, guid in LEAF.items():
            port(SPINE, n, node_type="switch")
            cable(guid, 9, SPINE, n)
    for host in hosts:
        leaf, leaf_port, ca = HOSTS[host]
        nodes.append(
            {"device": "sm", "guid": ca, "node_type": "ca", "description": f"{host} mlx5_0"}
        )
        port(LEAF[leaf], leaf_port, node_type="switch")
        port(_ca_port(host), 1, node_type="ca", node_guid=ca)
        cable(LEAF[leaf], leaf_port, _ca_port(host), 1)
    return {"ib_nodes": nodes, "ib_ports": ports, "ib_links": links}


def _gpus(host: str) -> dict[str, Any]:
    return {
        "gpus": [{"device": host, "host": host, "index": 0, "pci_bus_id": "0000:18:00.0"}],
        "gpu_health": [{"device": host, "host": host, "index": 0, "verdict": "ok"}],
        "gpu_affinity": [
            {"device": host, "host": host, "gpu_index": 0, "hca": "mlx5_0", "connection": "PIX"}
        ],
    }


def _job(job_id: str) -> dict[str, Any]:
    hosts = list(HOSTS)
    return {
        "nccl_jobs": [{"job_id": job_id, "nranks": 2, "hosts": hosts}],
        "nccl_ranks": [
            {
                "job_id": job_id,
                "comm": "0xabc",
                "rank": r,
                "nranks": 2,
                "host": host,
                "cuda_dev": 0,
                "bus_id": "0000:18:00.0",
                "hca_ports": ["mlx5_0:1"],
            }
            for r, host in enumerate(hosts)
        ],
        "nccl_connections": [
            {
                "job_id": job_id,
                "channel": 0,
                "src_rank": r,
                "dst_rank": 1 - r,
                "src_host": hosts[r],
                "dst_host": hosts[1 - r],
                "transport": "net",
                "via": "NET/IB/0",
                "src_hca": "mlx5_0:1",
                "dst_hca": "mlx5_0:1",
                "in_ring": True,
            }
            for r in range(2)
        ],
    }


def _device(host: str) -> dict[str, Any]:
    return {"hostname": host, "managed": True, "platform": "linux"}


@pytest.fixture
async def ctx(tmp_path: Path) -> AsyncIterator[QueryContext]:
    store = EmbeddedStore(tmp_path / "graph" / "db")
    engine = GraphEngine(store)
    await engine.start()
    yield QueryContext(store, engine)
    await store.close()


async def _apply(ctx: QueryContext, snapshot: Snapshot) -> None:
    assert ctx.engine is not None
    await apply_and_check(ctx.engine, snapshot, LABELS, RELS)


async def _rows(ctx: QueryContext, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return (await run_query(REGISTRY, name, params, ctx)).rows


def _blast_ids(rows: list[dict[str, Any]], entity: str) -> set[str]:
    return {r["id"] for r in rows if r["entity"] == entity}


def _lldp(*remotes: str) -> list[dict[str, Any]]:
    """The Ethernet switch's LLDP table: the hosts it sees, one per port."""
    return [
        {
            "protocol": "lldp",
            "device": "eth-sw1",
            "interface": f"Ethernet{n}",
            "remote_system_name": host,
            "remote_port": "eth0",
        }
        for n, host in enumerate(remotes, start=1)
    ]


async def _everything(ctx: QueryContext) -> None:
    """The fabric, both hosts' GPUs and the job; gpu-01 is a device collected itself, gpu-02
    a device only because the Ethernet switch eth-sw1 sees it over LLDP."""
    scope: dict[str, list[str]] = {
        "sm": SWEEP,
        "nccl-job:j1": NCCL,
        "eth-sw1": ["device", "lldp"],
        "gpu-01": ["device", *HOST_KINDS],
        "gpu-02": HOST_KINDS,
    }
    lists: dict[str, list[Any]] = {
        **_sweep(),
        **_job("j1"),
        "devices": [_device("gpu-01"), {**_device("eth-sw1"), "platform": "eos"}],
        "neighbors": _lldp("gpu-01", "gpu-02"),
    }
    for host in HOSTS:
        for kind, rows in _gpus(host).items():
            lists.setdefault(kind, []).extend(rows)
    await _apply(ctx, scoped_snapshot("all", 0, scope, **lists))
    engine = ctx.engine
    assert engine is not None
    for rel in ("HAS_HCA", "HAS_GPU", "RUNS_RANK"):
        assert {k[0] for k in engine.projection.rels[rel]} == set(HOSTS), rel
    blast = await _rows(ctx, "blast_radius_fabric", {"element": "leaf02"})
    assert _blast_ids(blast, "host") == {"gpu-02"}
    assert _blast_ids(blast, "gpu") == {"gpu:gpu-02:0"}
    assert _blast_ids(blast, "job") == {"j1"}
    flows = await _rows(ctx, "nccl_flows_by_job", {"job_id": "j1"})
    assert {f["dst_end"][0]["switch_guid"] for f in flows} == set(LEAF.values())


async def test_an_adapter_the_sweep_no_longer_sees_leaves_the_graph(ctx: QueryContext) -> None:
    await _everything(ctx)
    await _apply(ctx, scoped_snapshot("s2", 5, {"sm": SWEEP}, **_sweep(hosts=("gpu-01",))))
    engine = ctx.engine
    assert engine is not None
    assert engine.projection.node("IBNode", HOSTS["gpu-02"][2]) is None
    assert ("gpu-02", HOSTS["gpu-02"][2]) not in engine.projection.rels["HAS_HCA"]
    topology = await _rows(ctx, "ib_topology", {})
    assert {r["host"] for r in topology if r["node_type"] == "ca"} == {"gpu-01"}
    assert not [r for r in topology if r["peer_node_guid"] == HOSTS["gpu-02"][2]]
    # the GPU stays (its host still reports it) but is near no adapter of the fabric now
    (gpu,) = await _rows(ctx, "dcgm_gpu_health", {"host": "gpu-02"})
    assert gpu["hca_node_guids"] == []
    # nothing behind leaf02 any more
    assert await _rows(ctx, "blast_radius_fabric", {"element": "leaf02"}) == []
    # the flow's end on gpu-02 has no fabric port now
    flows = await _rows(ctx, "nccl_flows_by_job", {"job_id": "j1"})
    by_src = {f["src_host"]: f for f in flows}
    assert by_src["gpu-02"]["src_end"] == [] or all(
        e["port_guid"] is None for e in by_src["gpu-02"]["src_end"]
    )
    assert by_src["gpu-02"]["path_known"] is False

    # seen again: tied again
    await _apply(ctx, scoped_snapshot("s3", 10, {"sm": SWEEP}, **_sweep()))
    assert ("gpu-02", HOSTS["gpu-02"][2]) in engine.projection.rels["HAS_HCA"]
    blast = await _rows(ctx, "blast_radius_fabric", {"element": "leaf02"})
    assert _blast_ids(blast, "host") == {"gpu-02"}


async def test_a_host_whose_device_and_gpus_go_is_untied(ctx: QueryContext) -> None:
    await _everything(ctx)
    # eth-sw1 no longer sees gpu-02 (its device goes), and gpu-02 reports no GPUs
    await _apply(
        ctx,
        scoped_snapshot(
            "h2",
            5,
            {"eth-sw1": ["lldp"], "gpu-02": HOST_KINDS},
            neighbors=_lldp("gpu-01"),
        ),
    )
    engine = ctx.engine
    assert engine is not None
    assert engine.projection.node("Device", "gpu-02") is None
    for rel in ("HAS_HCA", "HAS_GPU", "RUNS_RANK"):
        assert {k[0] for k in engine.projection.rels[rel]} == {"gpu-01"}, rel
    assert [g["host"] for g in await _rows(ctx, "dcgm_gpu_health", {})] == ["gpu-01"]
    assert await _rows(ctx, "dcgm_gpu_health", {"host": "gpu-02"}) == []
    blast = await _rows(ctx, "blast_radius_fabric", {"element": "leaf02"})
    assert _blast_ids(blast, "gpu") == set()  # its GPUs are gone; its adapter is still cabled
    assert _blast_ids(blast, "host") == {"gpu-02"}
    flows = await _rows(ctx, "nccl_flows_by_job", {"job_id": "j1"})
    assert {f["dst_gpu"] for f in flows} == {"gpu:gpu-01:0", None}
    (job,) = await _rows(ctx, "nccl_jobs", {"job_id": "j1"})
    assert job["devices"] == ["gpu-01"] and job["ranks_without_gpu"] == 1

    # seen again: its adapter, GPU and rank hang off its device again
    await _apply(
        ctx,
        scoped_snapshot(
            "h3",
            10,
            {"eth-sw1": ["lldp"], "gpu-02": HOST_KINDS},
            neighbors=_lldp("gpu-01", "gpu-02"),
            **_gpus("gpu-02"),
        ),
    )
    for rel in ("HAS_HCA", "HAS_GPU", "RUNS_RANK"):
        assert {k[0] for k in engine.projection.rels[rel]} == set(HOSTS), rel


async def test_a_switch_that_goes_takes_its_cables_and_answers(ctx: QueryContext) -> None:
    await _everything(ctx)
    assert _blast_ids(await _rows(ctx, "blast_radius_fabric", {"element": "spine01"}), "job") == {
        "j1"
    }
    await _apply(ctx, scoped_snapshot("s2", 5, {"sm": SWEEP}, **_sweep(spine=False)))
    topology = await _rows(ctx, "ib_topology", {})
    assert SPINE not in {r["node_guid"] for r in topology}
    assert SPINE not in {r["peer_node_guid"] for r in topology}
    assert await _rows(ctx, "ib_topology", {"switch": "spine01"}) == []
    assert await _rows(ctx, "blast_radius_fabric", {"element": "spine01"}) == []
    # the leaves are apart now: the flows across them have no fabric path between them
    blast = await _rows(ctx, "blast_radius_fabric", {"element": "leaf01"})
    assert SPINE not in _blast_ids(blast, "switch")
    assert _blast_ids(blast, "host") == {"gpu-01"}


async def test_a_job_that_goes_takes_its_ranks_and_flows(ctx: QueryContext) -> None:
    await _everything(ctx)
    await _apply(ctx, scoped_snapshot("j2", 5, {"nccl-job:j1": NCCL}))
    engine = ctx.engine
    assert engine is not None
    assert not engine.projection.nodes["NcclRank"] and not engine.projection.nodes["NcclJob"]
    for rel in ("HAS_RANK", "RANK_GPU", "RANK_HCA_PORT", "RUNS_RANK", "NCCL_CONNECTION"):
        assert not engine.projection.rels[rel], rel
    assert await _rows(ctx, "nccl_jobs", {}) == []
    assert await _rows(ctx, "nccl_flows_by_job", {"job_id": "j1"}) == []
    blast = await _rows(ctx, "blast_radius_fabric", {"element": "leaf02"})
    assert _blast_ids(blast, "job") == set() and _blast_ids(blast, "host") == {"gpu-02"}


async def test_only_fabric_kinds_or_a_device_change_projects_the_fabric_again(
    ctx: QueryContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Re-projection runs for a change of a fabric kind and for a device that appears or
    goes; an interface changing on a device that stays does not re-project the fabric."""
    await _everything(ctx)
    engine = ctx.engine
    assert engine is not None
    calls: list[int] = []
    view = engine.live.fabric
    original = view.refresh

    def counting(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        original(*args, **kwargs)

    monkeypatch.setattr(view, "refresh", counting)
    iface = {"device": "gpu-01", "name": "eth0"}
    await _apply(ctx, scoped_snapshot("i", 5, {"gpu-01": ["interfaces"]}, interfaces=[iface]))
    assert calls == []
    await _apply(ctx, scoped_snapshot("d", 6, {"eth-sw1": ["lldp"]}, neighbors=_lldp("gpu-01")))
    assert calls == [1]  # gpu-02's device went
    assert set(FABRIC_KINDS) >= set(SWEEP) | set(HOST_KINDS) | set(NCCL)
