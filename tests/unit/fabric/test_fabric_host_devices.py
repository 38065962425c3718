"""A GPU host's adapters, GPUs and NCCL ranks hang off the same ``Device`` the Ethernet/IP
graph (LLDP) has for it: host names compared case-insensitively and without their domain;
where a name could be two devices, nothing is linked and the node says which."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, run_query
from meshq_graph_engine.engine import GraphEngine
from meshq_graph_engine.fabric._hosts import HostIndex, HostMatch
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.model import Snapshot
from support.projection_check import apply_and_check, scoped_snapshot

SW = "0x0c42a10300000100"
NCCL = ["nccl_jobs", "nccl_ranks", "nccl_connections", "nccl_results"]
RELS = ("HAS_HCA", "HAS_GPU", "RUNS_RANK", "RANK_GPU", "RANK_HCA_PORT")


@pytest.mark.parametrize(
    ("devices", "host", "want"),
    [
        (["gpu-01"], "GPU-01", HostMatch("gpu-01")),
        (["gpu-01.dc1.example"], "gpu-01", HostMatch("gpu-01.dc1.example")),
        (["gpu-01"], "Gpu-01.DC1.example.", HostMatch("gpu-01")),
        (["gpu-01.dc1.example"], "gpu-01.dc1.example", HostMatch("gpu-01.dc1.example")),
        # both carry a domain, and the domains differ: another host
        (["gpu-01.dc2.example"], "gpu-01.dc1.example", HostMatch(None)),
        # the exact name wins over its namesake in another domain
        (
            ["gpu-01.dc1.example", "gpu-01.dc2.example"],
            "GPU-01.dc1.example",
            HostMatch("gpu-01.dc1.example"),
        ),
        (
            ["gpu-01.dc1.example", "gpu-01.dc2.example"],
            "gpu-01",
            HostMatch(None, ("gpu-01.dc1.example", "gpu-01.dc2.example")),
        ),
        (["gpu-01", "gpu-01.dc1.example"], "gpu-01.dc1.example", HostMatch("gpu-01.dc1.example")),
        (
            ["gpu-01", "gpu-01.dc1.example"],
            "gpu-01.dc2.example",
            HostMatch("gpu-01"),
        ),
        (["10.0.0.1"], "10.0.0.1", HostMatch("10.0.0.1")),
        (["10.0.0.2"], "10.0.0.1", HostMatch(None)),
        (["gpu-01"], "", HostMatch(None)),
        (["gpu-01"], None, HostMatch(None)),
        (["gpu-010"], "gpu-01", HostMatch(None)),
    ],
    ids=[
        "case",
        "device-has-domain",
        "host-has-domain",
        "exact-fqdn",
        "other-domain",
        "exact-beats-namesake",
        "ambiguous",
        "fqdn-and-short-exact",
        "fqdn-to-short-only",
        "ip",
        "other-ip",
        "empty",
        "none",
        "prefix-is-not-a-match",
    ],
)
def test_host_index(devices: list[str], host: str | None, want: HostMatch) -> None:
    match = HostIndex(devices).match(host)
    assert match == want
    assert match.ambiguous == (len(want.candidates) > 1)


def _ca(n: int) -> str:
    return f"0xb8cef603000000{n:x}0"


def _ca_port(n: int) -> str:
    return f"0xb8cef603000000{n:x}1"


#: the fabric names its adapters' hosts as rdma-ndd wrote them: short, one in capitals
ADAPTERS = {1: "GPU-0101", 2: "gpu-0102", 3: "gpu-0103"}


def _fabric() -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [
        {"device": "ib-sm", "guid": SW, "node_type": "switch", "description": "MF0;l1:X/U1"}
    ]
    ports: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    for n, host in ADAPTERS.items():
        nodes.append(
            {"device": "ib-sm", "guid": _ca(n), "node_type": "ca", "description": f"{host} mlx5_0"}
        )
        ports += [
            {"device": "ib-sm", "port_guid": SW, "port": n, "node_type": "switch"},
            {
                "device": "ib-sm",
                "port_guid": _ca_port(n),
                "port": 1,
                "node_guid": _ca(n),
                "node_type": "ca",
                "state": "active",
            },
        ]
        links.append(
            {"device": "ib-sm", "a_guid": SW, "a_port": n, "b_guid": _ca_port(n), "b_port": 1}
        )
    return {"ib_nodes": nodes, "ib_ports": ports, "ib_links": links}


def _ethernet() -> dict[str, Any]:
    """The Ethernet side: a leaf switch whose LLDP sees gpu-0101's eth0; the hosts are
    devices with domains, and gpu-0102 is in two sites (two devices of that first label)."""
    hosts = ["gpu-0101.dc1.example", "gpu-0102.dc1.example", "gpu-0102.dc2.example"]
    return {
        "devices": [
            {"hostname": "leaf-eth-01", "platform": "arista_eos"},
            *({"hostname": h, "platform": "linux"} for h in hosts),
        ],
        "interfaces": [
            {"device": "leaf-eth-01", "name": "Ethernet1"},
            *({"device": h, "name": "eth0"} for h in hosts),
        ],
        "neighbors": [
            {
                "protocol": "lldp",
                "device": "leaf-eth-01",
                "interface": "Ethernet1",
                "remote_system_name": "gpu-0101.dc1.example",
                "remote_port": "eth0",
            }
        ],
    }


def _gpus() -> dict[str, list[dict[str, Any]]]:
    return {
        "gpus": [
            {"host": host, "index": 0, "pci_bus_id": "0000:18:00.0"}
            for host in ("gpu-0101", "gpu-0102")
        ]
    }


def _job() -> dict[str, Any]:
    hosts = ["Gpu-0101", "gpu-0102", "gpu-0103"]  # as the log printed them
    return {
        "nccl_jobs": [{"job_id": "j1", "nranks": 3, "hosts": hosts}],
        "nccl_ranks": [
            {
                "job_id": "j1",
                "comm": "0xabc",
                "rank": r,
                "nranks": 3,
                "host": host,
                "cuda_dev": 0,
                "bus_id": "0000:18:00.0",
                "hca_ports": ["mlx5_0:1"],
            }
            for r, host in enumerate(hosts)
        ],
    }


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[GraphEngine]:
    store = EmbeddedStore(tmp_path / "graph" / "db")
    engine = GraphEngine(store)
    await engine.start()
    yield engine
    await store.close()


async def _apply(engine: GraphEngine, snapshot: Snapshot) -> None:
    await apply_and_check(engine, snapshot, ("IBNode", "GPU", "NcclRank"), RELS)


async def _hanging_off(engine: GraphEngine) -> set[tuple[str, str, str]]:
    """(device, relationship, node) for every fabric node hanging off a device that LLDP
    connects to the leaf switch: read from the store, as a query would."""
    rows = await engine.store.execute(
        "MATCH (:Device {id: 'leaf-eth-01'})-[:HAS_INTERFACE]->(:Interface)-[:CONNECTED_TO]-"
        "(:Interface)<-[:HAS_INTERFACE]-(d:Device)-[r:HAS_HCA|HAS_GPU|RUNS_RANK]->(n) "
        "RETURN d.id AS device, label(r) AS rel, n.id AS node",
        {},
    )
    return {(row["device"], row["rel"], row["node"]) for row in rows}


@pytest.mark.parametrize("order", ["fabric-first", "devices-first"])
async def test_a_mixed_snapshot_hangs_gpus_and_ranks_off_the_ethernet_device(
    engine: GraphEngine, order: str
) -> None:
    steps = [
        scoped_snapshot("f", 0, {"ib-sm": ["ib_nodes", "ib_ports", "ib_links"]}, **_fabric()),
        scoped_snapshot("g", 1, {"gpu-0101": ["gpus"], "gpu-0102": ["gpus"]}, **_gpus()),
        scoped_snapshot("j", 2, {"nccl-job:j1": NCCL}, **_job()),
    ]
    eth = _ethernet()
    ethernet = scoped_snapshot(
        "e",
        3,
        {d["hostname"]: ["device", "interfaces"] for d in eth["devices"]}
        | {"leaf-eth-01": ["device", "interfaces", "lldp"]},
        **eth,
    )
    for snapshot in [*steps, ethernet] if order == "fabric-first" else [ethernet, *steps]:
        await _apply(engine, snapshot)

    host = "gpu-0101.dc1.example"
    assert await _hanging_off(engine) == {
        (host, "HAS_HCA", _ca(1)),
        (host, "HAS_GPU", "gpu:gpu-0101:0"),
        (host, "RUNS_RANK", "j1|0xabc|0"),
    }
    # the rank also reaches its GPU, and that GPU the same device
    rank = await engine.store.execute(
        "MATCH (d:Device)-[:RUNS_RANK]->(r:NcclRank)-[:RANK_GPU]->(g:GPU)<-[:HAS_GPU]-(d) "
        "RETURN d.id AS device, r.id AS rank, g.id AS gpu",
        {},
    )
    assert rank == [{"device": host, "rank": "j1|0xabc|0", "gpu": "gpu:gpu-0101:0"}]

    # gpu-0102 could be either site's: nothing linked, and the nodes say which devices
    both = ["gpu-0102.dc1.example", "gpu-0102.dc2.example"]
    for label, node_id in (
        ("IBNode", _ca(2)),
        ("GPU", "gpu:gpu-0102:0"),
        ("NcclRank", "j1|0xabc|1"),
    ):
        node = engine.projection.node(label, node_id)
        assert node is not None and node["host_candidates"] == both, label
    projection = engine.projection
    assert not any(key[1] in (_ca(2), "gpu:gpu-0102:0") for key in projection.rels["HAS_HCA"])
    assert not any(key[1] == "gpu:gpu-0102:0" for key in projection.rels["HAS_GPU"])
    assert not any(key[1] == "j1|0xabc|1" for key in projection.rels["RUNS_RANK"])
    # gpu-0103 is no device of the graph: unlinked, with no candidates
    rank3 = projection.node("NcclRank", "j1|0xabc|2")
    assert rank3 is not None and rank3["host_candidates"] == []
    assert {key[1] for key in projection.rels["RUNS_RANK"]} == {"j1|0xabc|0"}

    # and the queries say so
    ctx = QueryContext(engine.store, engine)
    (job,) = (await run_query(REGISTRY, "nccl_jobs", {"job_id": "j1"}, ctx)).rows
    assert job["devices"] == [host]
    assert job["hosts_ambiguous"] == {"gpu-0102": both}
    gpus = (await run_query(REGISTRY, "dcgm_gpu_health", {}, ctx)).rows
    assert [(g["host"], g["device"], g["device_candidates"]) for g in gpus] == [
        ("gpu-0101", host, []),
        ("gpu-0102", None, both),
    ]


async def test_a_second_namesake_device_unlinks_the_rank(
    engine: GraphEngine,
) -> None:
    await _apply(engine, scoped_snapshot("j", 0, {"nccl-job:j1": NCCL}, **_job()))
    one = {"hostname": "gpu-0103.dc1.example", "platform": "linux"}
    await _apply(engine, scoped_snapshot("d1", 1, {one["hostname"]: ["device"]}, devices=[one]))
    assert engine.projection.rel("RUNS_RANK", ("gpu-0103.dc1.example", "j1|0xabc|2")) is not None
    two = {"hostname": "gpu-0103.dc2.example", "platform": "linux"}
    await _apply(engine, scoped_snapshot("d2", 2, {two["hostname"]: ["device"]}, devices=[two]))
    assert not engine.projection.rels["RUNS_RANK"]
    node = engine.projection.node("NcclRank", "j1|0xabc|2")
    assert node is not None
    assert node["host_candidates"] == ["gpu-0103.dc1.example", "gpu-0103.dc2.example"]
