"""The InfiniBand fabric in the graph: several collecting hosts' views merged, a host's view
replaced by its next snapshot only, a host's ibstat filling the gaps, adapters tied to their
host devices; the graph kept up to date step by step equals the graph built whole and the
one the store holds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.model import Snapshot
from support.projection_check import apply_and_check, scoped_snapshot

SW = "0x0c42a10300000100"
CA = "0xb8cef60300000010"  # node GUID; its port GUID is CA + 1
CA_PORT = "0xb8cef60300000011"


def _view(collector: str, *, ca_state: str, with_ca: bool = True) -> dict[str, Any]:
    nodes = [
        {"device": collector, "guid": SW, "node_type": "switch", "description": "MF0;l1:X/U1"},
    ]
    ports = [
        {
            "device": collector,
            "port_guid": SW,
            "port": 1,
            "node_type": "switch",
            "state": "active",
            "width": "4x",
            "speed": "HDR",
        },
    ]
    links = []
    if with_ca:
        nodes.append(
            {
                "device": collector,
                "guid": CA,
                "node_type": "ca",
                "description": "MT4123 ConnectX6 Mellanox Technologies",
            }
        )
        ports.append(
            {
                "device": collector,
                "port_guid": CA_PORT,
                "port": 1,
                "node_guid": CA,
                "node_type": "ca",
                "state": ca_state,
                "lid": 7,
            }
        )
        links.append(
            {
                "device": collector,
                "a_guid": SW,
                "a_port": 1,
                "b_guid": CA_PORT,
                "b_port": 1,
                "width": "4x",
                "speed": "HDR",
            }
        )
    return {"ib_nodes": nodes, "ib_ports": ports, "ib_links": links}


_FABRIC = ["ib_nodes", "ib_ports", "ib_links"]


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[GraphEngine]:
    store = EmbeddedStore(tmp_path / "graph" / "db")
    engine = GraphEngine(store)
    await engine.start()
    yield engine
    await store.close()


async def _apply(engine: GraphEngine, snapshot: Snapshot) -> None:
    await apply_and_check(
        engine, snapshot, ("IBNode", "IBPort"), ("HAS_IB_PORT", "IB_LINK", "HAS_HCA")
    )


async def test_views_merge_and_each_collector_replaces_only_its_own(engine: GraphEngine) -> None:
    await _apply(
        engine, scoped_snapshot("a", 0, {"sm-a": _FABRIC}, **_view("sm-a", ca_state="down"))
    )
    await _apply(
        engine, scoped_snapshot("b", 5, {"sm-b": _FABRIC}, **_view("sm-b", ca_state="active"))
    )
    port = engine.projection.node("IBPort", f"{CA_PORT}|1")
    assert port is not None and port["state"] == "active"  # the later collection wins
    node = engine.projection.node("IBNode", CA)
    assert node is not None and node["collected_by"] == ["sm-a", "sm-b"]
    assert engine.projection.rel("IB_LINK", (f"{SW}|1", f"{CA_PORT}|1")) is not None

    # sm-b no longer sees the adapter: sm-a's older view still has it
    await _apply(
        engine,
        scoped_snapshot("b2", 10, {"sm-b": _FABRIC}, **_view("sm-b", ca_state="x", with_ca=False)),
    )
    port = engine.projection.node("IBPort", f"{CA_PORT}|1")
    assert port is not None and port["state"] == "down"
    assert engine.projection.node("IBNode", CA)["collected_by"] == ["sm-a"]  # type: ignore[index]

    # and once sm-a's view drops it too, it is gone
    await _apply(
        engine,
        scoped_snapshot("a2", 15, {"sm-a": _FABRIC}, **_view("sm-a", ca_state="x", with_ca=False)),
    )
    assert engine.projection.node("IBNode", CA) is None
    assert engine.projection.node("IBPort", f"{CA_PORT}|1") is None
    assert not engine.projection.rels["IB_LINK"]
    assert engine.projection.node("IBNode", SW) is not None


async def test_a_hosts_ibstat_names_its_adapter_and_ties_it_to_the_device(
    engine: GraphEngine,
) -> None:
    await _apply(
        engine, scoped_snapshot("a", 0, {"sm-a": _FABRIC}, **_view("sm-a", ca_state="active"))
    )
    node = engine.projection.node("IBNode", CA)
    assert node is not None and node["host"] is None  # a vendor-default description
    adapter = {
        "device": "gpu-01",
        "host": "gpu-01",
        "name": "mlx5_0",
        "firmware": "20.31.1014",
        "node_guid": CA,
        "ports": [
            {"port": 1, "state": "active", "port_guid": CA_PORT, "link_layer": "InfiniBand"},
            {"port": 2, "state": "down", "phys_state": "polling", "port_guid": "0x22"},
        ],
    }
    await _apply(
        engine, scoped_snapshot("h", 5, {"gpu-01": ["ib_adapters"]}, ib_adapters=[adapter])
    )
    node = engine.projection.node("IBNode", CA)
    assert node is not None
    assert (node["host"], node["ca_name"], node["firmware"]) == ("gpu-01", "mlx5_0", "20.31.1014")
    assert engine.projection.node("IBPort", f"{CA_PORT}|1")["host"] == "gpu-01"  # type: ignore[index]
    unreachable = engine.projection.node("IBPort", "0x0000000000000022|2")
    assert unreachable is not None and unreachable["state"] == "down"
    assert not engine.projection.rels["HAS_HCA"]  # no device gpu-01 in the graph yet

    device = {"hostname": "gpu-01.example.net", "managed": True, "platform": "linux"}
    await _apply(
        engine, scoped_snapshot("d", 10, {"gpu-01.example.net": ["device"]}, devices=[device])
    )
    assert engine.projection.rel("HAS_HCA", ("gpu-01.example.net", CA)) is not None


async def test_gpus_tie_to_their_host_and_nearest_adapter(engine: GraphEngine) -> None:
    view = _view("sm-a", ca_state="active")
    view["ib_nodes"][1]["description"] = "gpu-01 mlx5_0"  # the adapter names its host
    await _apply(engine, scoped_snapshot("a", 0, {"sm-a": _FABRIC}, **view))
    host = ["gpus", "gpu_health", "gpu_affinity"]
    gpu_facts: dict[str, Any] = {
        "gpus": [{"host": "gpu-01", "index": 0, "name": "NVIDIA H100 80GB HBM3"}],
        "gpu_health": [
            {
                "host": "gpu-01",
                "index": 0,
                "verdict": "degraded",
                "reasons": [
                    {
                        "severity": "degraded",
                        "metric": "DCGM_FI_DEV_GPU_TEMP",
                        "observed": 91.0,
                        "threshold": 87.0,
                        "message": "temperature 91 C over 87 C",
                    }
                ],
            }
        ],
        "gpu_affinity": [
            {"host": "gpu-01", "gpu_index": 0, "hca": "mlx5_0", "connection": "PIX"},
            {"host": "gpu-01", "gpu_index": 0, "hca": "mlx5_1", "connection": "SYS"},
            {"host": "gpu-01", "gpu_index": 1, "hca": "mlx5_1", "connection": "PXB"},
        ],
    }
    await _apply(engine, scoped_snapshot("g", 5, {"gpu-01": host}, **gpu_facts))
    gpu = engine.projection.node("GPU", "gpu:gpu-01:0")
    assert gpu is not None
    assert (gpu["verdict"], gpu["hcas"], gpu["hca_connection"]) == ("degraded", ["mlx5_0"], "PIX")
    assert engine.projection.rel("NEAR_HCA", ("gpu:gpu-01:0", CA)) == {
        "src": "gpu:gpu-01:0",
        "dst": CA,
        "connection": "PIX",
    }
    # GPU 1 is named by topo -m only: a GPU with no verdict, near an adapter the fabric lacks
    other = engine.projection.node("GPU", "gpu:gpu-01:1")
    assert other is not None and other["verdict"] is None and other["hcas"] == ["mlx5_1"]
    assert len(engine.projection.rels["NEAR_HCA"]) == 1
    assert not engine.projection.rels["HAS_GPU"]

    device = {"hostname": "gpu-01", "managed": True, "platform": "linux"}
    await _apply(engine, scoped_snapshot("d", 10, {"gpu-01": ["device"]}, devices=[device]))
    assert set(engine.projection.rels["HAS_GPU"]) == {
        ("gpu-01", "gpu:gpu-01:0"),
        ("gpu-01", "gpu:gpu-01:1"),
    }
    assert engine.projection.rel("HAS_HCA", ("gpu-01", CA)) is not None

    # the host's next snapshot without topo -m and health replaces only those kinds
    await _apply(
        engine,
        scoped_snapshot("g2", 15, {"gpu-01": ["gpu_affinity", "gpu_health"]}),
    )
    gpu = engine.projection.node("GPU", "gpu:gpu-01:0")
    assert gpu is not None and gpu["name"] == "NVIDIA H100 80GB HBM3"
    assert gpu["verdict"] is None and gpu["hcas"] == []
    assert engine.projection.node("GPU", "gpu:gpu-01:1") is None
    assert not engine.projection.rels["NEAR_HCA"]
