"""update_device_metadata: a user's patch changes the device and outlives re-ingest."""

from __future__ import annotations

import pytest
from conftest import Graph, load_snapshot
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, QueryError, run_query
from meshq_graph_engine.engine import GraphEngine


async def _device(graph: Graph, device: str) -> dict:
    rows = (await run_query(REGISTRY, "all_devices", {}, graph.ctx)).rows
    return next(r for r in rows if r["device"] == device)


async def test_patch_changes_the_device_and_survives_reingest(lady: Graph) -> None:
    params = {
        "device": "hq-acc-02",
        "site": "hq-annex",
        "rack": "R12",
        "criticality": "medium",
        "tags": ["floor-1", "closet-2"],
    }
    result = await run_query(REGISTRY, "update_device_metadata", params, lady.ctx)
    assert result.rows == [
        {
            "device": "hq-acc-02",
            "site": "hq-annex",
            "tenant": None,
            "rack": "R12",
            "role": "access",
            "criticality": "medium",
            "tags": ["closet-2", "floor-1"],
        }
    ]
    again = await lady.engine.apply_snapshot(load_snapshot())
    assert again.empty
    device = await _device(lady, "hq-acc-02")
    assert (device["site"], device["rack"], device["criticality"]) == ("hq-annex", "R12", "medium")
    assert device["os_version"] is None  # the collected facts are untouched

    # A restart re-projects from the stored facts and patches: still there.
    restarted = GraphEngine(lady.store)
    await restarted.start()
    assert (await _device(lady, "hq-acc-02"))["rack"] == "R12"


async def test_clearing_a_field_and_other_devices_untouched(lady: Graph) -> None:
    before = await _device(lady, "hq-core-01")
    rows = (
        await run_query(
            REGISTRY,
            "update_device_metadata",
            {"device": "hq-border-01", "clear": "site"},
            lady.ctx,
        )
    ).rows
    assert rows[0]["site"] is None and rows[0]["role"] == "border"
    assert await _device(lady, "hq-core-01") == before
    summary = (await run_query(REGISTRY, "summary_stats", {"site": "hq"}, lady.ctx)).rows
    assert summary[0]["devices"] == 6  # hq-border-01 left the site


async def test_refused_updates_write_nothing(lady: Graph) -> None:
    patches = "MATCH (p:Patch) RETURN count(p) AS n"
    for params, status in (
        ({"device": "no-such-device", "rack": "R1"}, 404),
        ({"device": "ap-lobby-01", "rack": "R1"}, 409),
        ({"device": "hq-acc-01", "rack": "R1", "clear": ["rack"]}, 422),
    ):
        with pytest.raises(QueryError) as raised:
            await run_query(REGISTRY, "update_device_metadata", params, lady.ctx)
        assert raised.value.status == status
    assert await lady.store.execute(patches) == [{"n": 0}]


async def test_without_the_engine_the_query_cannot_write(lady: Graph) -> None:
    ctx = QueryContext(lady.store, None)
    with pytest.raises(QueryError) as raised:
        await run_query(
            REGISTRY, "update_device_metadata", {"device": "hq-acc-01", "rack": "R1"}, ctx
        )
    assert raised.value.status == 503
