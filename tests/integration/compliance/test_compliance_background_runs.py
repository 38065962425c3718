"""Runs that outlast their query, and the VLAN span read from a real graph store.

``meshq_compliance_run`` waits for its run at most ``wait`` seconds; past that it answers with
the run's id and ``running``, the run goes on, and its results are refused (409) until it is
done, then read by that id. The VLAN span rule reads the switching settings of the access
switch's ports and uplinks as the embedded store holds them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, QueryError, run_query
from meshq_graph_engine.compliance import ComplianceService, ConfigStore, FileHistory
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.model import Snapshot

GI = "GigabitEthernet"
RULE = "topo-access-uplinks-carry-user-vlans"


def _campus(uplink_vlans: list[int]) -> Snapshot:
    def port(device: str, name: str, **more: Any) -> dict[str, Any]:
        return {"device": device, "name": name, "admin_status": "up", "oper_status": "up", **more}

    interfaces = [
        port("acc", "Gi1/0/1", mode="access", access_vlan=10),
        port("acc", "Gi1/0/2", mode="access", access_vlan=20),
        port("acc", "Gi1/0/49", mode="trunk", trunk_vlans=[10, 20], description="to d1"),
        port("acc", "Gi1/0/50", mode="trunk", trunk_vlans=uplink_vlans, description="to d2"),
        port("d1", "Gi1/0/1", mode="trunk", description="to acc"),
        port("d2", "Gi1/0/1", mode="trunk", description="to acc"),
    ]
    links = [
        {
            "a": {"device": "acc", "interface": a},
            "b": {"device": b, "interface": "Gi1/0/1"},
            "evidence": "lldp_both",
        }
        for a, b in (("Gi1/0/49", "d1"), ("Gi1/0/50", "d2"))
    ]
    roles = {"acc": "access", "d1": "distribution", "d2": "distribution"}
    return Snapshot.model_validate(
        {
            "snapshot_id": f"vlans-{len(uplink_vlans)}",
            "source": "test",
            "collected_at": "2026-03-01T08:00:00Z",
            "scope": [{"device": d, "facts": ["device", "interfaces", "links"]} for d in roles],
            "devices": [
                {"hostname": d, "platform": "cisco_ios", "role": r} for d, r in roles.items()
            ],
            "interfaces": interfaces,
            "links": links,
        }
    )


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[tuple[QueryContext, GraphEngine]]:
    store = EmbeddedStore(tmp_path / "graph" / "db")
    engine = GraphEngine(store)
    await engine.start()
    await engine.apply_snapshot(_campus([10]))
    service = ComplianceService(
        store, FileHistory(tmp_path / "runs"), ConfigStore(tmp_path / "configs"), packs_dir=""
    )
    yield QueryContext(store, engine, compliance=service), engine
    await service.close()
    await store.close()


async def _rows(ctx: QueryContext, name: str, **params: Any) -> list[dict[str, Any]]:
    return (await run_query(REGISTRY, name, params, ctx)).rows


async def test_a_run_past_its_wait_goes_on_and_is_read_by_its_id(lab: Any) -> None:
    ctx, _ = lab
    (run,) = await _rows(ctx, "meshq_compliance_run", wait=0)
    assert run["status"] == "running" and run["finished_at"] is None and run["devices"] == 0
    with pytest.raises(QueryError) as refused:
        await _rows(ctx, "meshq_compliance_results", run_id=run["run_id"])
    assert refused.value.status == 409 and "still running" in refused.value.detail
    for _ in range(600):
        try:
            rows = await _rows(ctx, "meshq_compliance_results", run_id=run["run_id"], rule=RULE)
            break
        except QueryError as exc:
            assert exc.status == 409
            await asyncio.sleep(0.05)
    else:
        raise AssertionError("the run did not finish")
    assert {r["run_id"] for r in rows} == {run["run_id"]} and len(rows) == 3
    (done,) = await _rows(ctx, "meshq_compliance_run", wait=25)
    assert done["status"] == "done" and done["finished_at"] and done["devices"] == 3
    with pytest.raises(QueryError) as unknown:
        await _rows(ctx, "meshq_compliance_results", run_id="r-20260301T080000Z-abcdef")
    assert unknown.value.status == 404


async def test_the_vlan_span_over_the_store(lab: Any) -> None:
    ctx, engine = lab
    await _rows(ctx, "meshq_compliance_run")
    (row,) = await _rows(ctx, "meshq_compliance_results", device="acc", rule=RULE)
    assert row["status"] == "fail" and row["remediation"]
    assert row["evidence"] == [
        {
            "fact": "uplinks_missing_user_vlans",
            "value": 1,
            "details": [f"{GI}1/0/50 -> d2 {GI}1/0/1: does not carry VLAN 20"],
        }
    ]
    (dist,) = await _rows(ctx, "meshq_compliance_results", device="d1", rule=RULE)
    assert dist["status"] == "not_applicable"
    await engine.apply_snapshot(_campus([10, 20, 30]))
    (run,) = await _rows(ctx, "meshq_compliance_run")
    (row,) = await _rows(
        ctx, "meshq_compliance_results", run_id=run["run_id"], device="acc", rule=RULE
    )
    assert row["status"] == "pass"
