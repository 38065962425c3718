"""NCCL jobs in the graph: ranks tied to their GPUs (by bus id, else NVML index) and to the
fabric's HCA ports, rank pairs connected, a job's next ingest replacing that job only, and
the graph kept up to date step by step equal to the graph built whole and the one stored."""

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
CA = "0xb8cef60300000010"
CA_PORT = "0xb8cef60300000011"
NCCL = ["nccl_jobs", "nccl_ranks", "nccl_connections", "nccl_results"]
LABELS = ("NcclJob", "NcclRank")
RELS = ("HAS_RANK", "RANK_GPU", "RANK_HCA_PORT", "NCCL_CONNECTION")


FABRIC = {
    "ib_nodes": [
        {"device": "sm", "guid": SW, "node_type": "switch", "description": "MF0;l1:X/U1"},
        {"device": "sm", "guid": CA, "node_type": "ca", "description": "gpu-01 mlx5_0"},
    ],
    "ib_ports": [
        {"device": "sm", "port_guid": SW, "port": 1, "node_type": "switch", "state": "active"},
        {
            "device": "sm",
            "port_guid": CA_PORT,
            "port": 1,
            "node_guid": CA,
            "node_type": "ca",
            "state": "active",
        },
    ],
    "ib_links": [{"device": "sm", "a_guid": SW, "a_port": 1, "b_guid": CA_PORT, "b_port": 1}],
}
GPUS = {
    "gpus": [
        {"host": "gpu-01", "index": 0, "pci_bus_id": "0000:18:00.0"},
        {"host": "gpu-01", "index": 1, "pci_bus_id": "0000:2a:00.0"},
    ]
}


def _job(job_id: str, ranks: int) -> dict[str, Any]:
    hosts = ["gpu-01", "gpu-01", "gpu-02"][:ranks]
    return {
        "nccl_jobs": [{"job_id": job_id, "nranks": ranks, "hosts": sorted(set(hosts))}],
        "nccl_ranks": [
            {
                "job_id": job_id,
                "comm": "0xabc",
                "rank": r,
                "nranks": ranks,
                "host": hosts[r],
                "cuda_dev": r,
                # rank 0 by its bus id; rank 1 by its NVML index; rank 2's host has no GPUs
                **({"bus_id": "0000:18:00.0"} if r == 0 else {"nvml_dev": r}),
                "hca_ports": ["mlx5_0:1"],
            }
            for r in range(ranks)
        ],
        "nccl_connections": [
            {
                "job_id": job_id,
                "channel": 0,
                "src_rank": r,
                "dst_rank": (r + 1) % ranks,
                "src_host": hosts[r],
                "dst_host": hosts[(r + 1) % ranks],
                "transport": "p2p" if hosts[r] == hosts[(r + 1) % ranks] else "net",
                "via": "P2P/CUMEM" if hosts[r] == hosts[(r + 1) % ranks] else "NET/IB/0",
                "in_ring": True,
            }
            for r in range(ranks)
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
    await apply_and_check(engine, snapshot, LABELS, RELS)


async def test_ranks_join_gpus_ports_and_each_other(engine: GraphEngine) -> None:
    # the job first: it joins the fabric and the GPUs as they arrive
    await _apply(engine, scoped_snapshot("j", 0, {"nccl-job:j1": NCCL}, **_job("j1", 3)))
    assert set(engine.projection.nodes["NcclRank"]) == {"j1|0xabc|0", "j1|0xabc|1", "j1|0xabc|2"}
    assert not engine.projection.rels["RANK_GPU"] and not engine.projection.rels["RANK_HCA_PORT"]
    assert len(engine.projection.rels["NCCL_CONNECTION"]) == 3
    await _apply(engine, scoped_snapshot("f", 5, {"sm": list(FABRIC)}, **FABRIC))
    await _apply(engine, scoped_snapshot("g", 10, {"gpu-01": ["gpus"]}, **GPUS))
    gpu = engine.projection.rels["RANK_GPU"]
    assert dict(gpu) == {
        ("j1|0xabc|0", "gpu:gpu-01:0"): ("bus_id",),
        ("j1|0xabc|1", "gpu:gpu-01:1"): ("nvml_dev",),
    }  # never by CUDA device number; gpu-02 has no GPU in the graph
    assert set(engine.projection.rels["RANK_HCA_PORT"]) == {
        ("j1|0xabc|0", f"{CA_PORT}|1"),
        ("j1|0xabc|1", f"{CA_PORT}|1"),
    }  # gpu-02's mlx5_0 is not in the fabric view
    link = engine.projection.rel("NCCL_CONNECTION", ("j1|0xabc|1", "j1|0xabc|2"))
    assert link is not None and (link["transports"], link["ring_channels"]) == ("net", "0")


async def test_a_job_ingested_again_replaces_that_job_only(engine: GraphEngine) -> None:
    await _apply(engine, scoped_snapshot("a", 0, {"nccl-job:j1": NCCL}, **_job("j1", 3)))
    await _apply(engine, scoped_snapshot("b", 1, {"nccl-job:j2": NCCL}, **_job("j2", 3)))
    await _apply(engine, scoped_snapshot("c", 2, {"nccl-job:j1": NCCL}, **_job("j1", 2)))
    ranks = set(engine.projection.nodes["NcclRank"])
    assert {r for r in ranks if r.startswith("j1|")} == {"j1|0xabc|0", "j1|0xabc|1"}
    assert len([r for r in ranks if r.startswith("j2|")]) == 3
    job = engine.projection.node("NcclJob", "j1")
    assert job is not None and job["nranks"] == 2
    await _apply(engine, scoped_snapshot("d", 3, {"nccl-job:j1": NCCL}))  # the job is gone
    assert engine.projection.node("NcclJob", "j1") is None
    assert all(r.startswith("j2|") for r in engine.projection.nodes["NcclRank"])
