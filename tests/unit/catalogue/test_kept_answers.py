"""topology_edges, all_devices and netbox_drift from the rows the writer keeps in memory: the
same rows as the store gives, after a snapshot, a change, a patch and a failed update alike."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import Graph, load_snapshot
from meshq_graph_engine.answers.kept import DeviceRows, LinkRows, keep_warm, kept
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, run_query

EDGE_PARAMS: list[dict[str, Any]] = [
    {},
    {"site": "hq"},
    {"site": "dc1"},
    {"site": "nowhere"},
    {"min_confidence": 0.7},
    {"min_confidence": 1},
]
DEVICE_PARAMS: list[dict[str, Any]] = [
    {},
    {"managed_only": False},
    {"site": "hq"},
    {"role": "access"},
    {"managed_only": False, "site": "dc1", "role": "leaf"},
]


async def _both(graph: Graph, name: str, params: dict[str, Any]) -> tuple[list, list]:
    """(the answer from the kept rows, the answer the store gives)."""
    kept_rows = (await run_query(REGISTRY, name, params, graph.ctx)).rows
    store_rows = (await run_query(REGISTRY, name, params, QueryContext(graph.store))).rows
    return kept_rows, store_rows


async def _same_everywhere(graph: Graph) -> None:
    for params in EDGE_PARAMS:
        mine, store = await _both(graph, "topology_edges", params)
        assert mine == store, params
    for params in DEVICE_PARAMS:
        mine, store = await _both(graph, "all_devices", params)
        assert mine == store, params
    for params in ({}, {"include_matched": True}, {"device": "dc1-leaf-01"}):
        mine, store = await _both(graph, "netbox_drift", params)
        assert mine == store, params


def _links(graph: Graph) -> LinkRows:
    found = kept(graph.engine, LinkRows)
    assert found is not None
    return found


def _devices(graph: Graph) -> DeviceRows:
    found = kept(graph.engine, DeviceRows)
    assert found is not None
    return found


async def test_kept_rows_are_the_stores(lady: Graph) -> None:
    await _same_everywhere(lady)
    links, devices = _links(lady), _devices(lady)
    # built once, from the graph in memory, and answered from since
    assert (links.builds, devices.builds) == (1, 1)
    assert links.revision == devices.revision == lady.engine.revision
    edges = (await run_query(REGISTRY, "topology_edges", {}, lady.ctx)).rows
    assert len(edges) == 11 and edges[0]["a_device"] == "ap-lobby-01"
    page = await run_query(REGISTRY, "all_devices", {}, lady.ctx, limit=2, offset=1)
    whole = (await run_query(REGISTRY, "all_devices", {}, lady.ctx)).rows
    assert page.rows == whole[1:3] and page.row_count == len(whole)


async def test_kept_rows_follow_each_change(lady: Graph) -> None:
    await _same_everywhere(lady)
    links, devices = _links(lady), _devices(lady)
    snapshot = load_snapshot()
    changed = snapshot.model_copy(
        update={
            "snapshot_id": "catalogue-fixture-2",
            "links": [
                link.model_copy(update={"confidence": 0.5}) if i == 0 else link
                for i, link in enumerate(snapshot.links)
                if i != 3  # hq-core-01 Et49 <-> hq-core-02 Et49 is gone
            ],
        }
    )
    result = await lady.engine.apply_snapshot(changed)
    assert not result.empty
    await _same_everywhere(lady)
    edges = (await run_query(REGISTRY, "topology_edges", {}, lady.ctx)).rows
    assert len(edges) == 10
    assert not any(e["a_interface"] == "Ethernet49" for e in edges)
    assert links.updates == 1 and links.builds == 1  # brought up to date, not rebuilt

    # a patch moves a device to another site: the links' site filter follows it
    await run_query(
        REGISTRY, "update_device_metadata", {"device": "hq-acc-02", "site": "hq-annex"}, lady.ctx
    )
    assert links.revision == lady.engine.revision
    await _same_everywhere(lady)
    annex, store = await _both(lady, "topology_edges", {"site": "hq-annex"})
    assert annex == store and len(annex) == 4
    assert all("hq-acc-02" in (e["a_device"], e["b_device"]) for e in annex)
    moved, _ = await _both(lady, "all_devices", {"site": "hq-annex"})
    assert [d["device"] for d in moved] == ["hq-acc-02"]
    assert devices.updates == 2 and devices.builds == 1

    # the whole snapshot again: back to the first graph
    await lady.engine.apply_snapshot(snapshot)
    await _same_everywhere(lady)


async def test_a_failed_update_falls_back_to_the_store(
    lady: Graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _same_everywhere(lady)
    links = _links(lady)

    def broken(*_: Any) -> bool:
        raise RuntimeError("boom")

    monkeypatch.setattr(LinkRows, "_update", broken)
    snapshot = load_snapshot()
    changed = snapshot.model_copy(
        update={"snapshot_id": "catalogue-fixture-3", "links": snapshot.links[1:]}
    )
    await lady.engine.apply_snapshot(changed)  # the apply itself never fails for it
    assert links.revision is None
    monkeypatch.undo()
    await _same_everywhere(lady)  # built again, whole, on the next call
    assert links.builds == 2 and links.revision == lady.engine.revision


async def test_no_kept_rows_without_a_writer_or_during_a_change(lady: Graph) -> None:
    assert kept(None, LinkRows) is None
    replica = QueryContext(lady.store)
    rows = (await run_query(REGISTRY, "topology_edges", {}, replica)).rows
    assert len(rows) == 11
    links = _links(lady)
    async with lady.engine._lock:  # a change being applied: the graph in memory is ahead
        assert links.current() is None
        assert links.answer("", 0.0) is None
    assert links.current() is not None


async def test_kept_warm_rows_are_ready_before_the_first_question(lady: Graph) -> None:
    stop = keep_warm(lady.engine)
    try:
        links, devices = _links(lady), _devices(lady)
        async with lady.engine._lock:  # a change under way: the build waits for it
            await asyncio.sleep(0.05)
            assert links.revision is None and devices.revision is None
        for _ in range(100):  # built on the event loop once the writer's lock is free
            if links._sorted is not None and devices._sorted is not None:
                break
            await asyncio.sleep(0.05)
        assert links.revision == devices.revision == lady.engine.revision
        assert (links.builds, devices.builds) == (1, 1)

        snapshot = load_snapshot()
        changed = snapshot.model_copy(
            update={"snapshot_id": "catalogue-fixture-4", "links": snapshot.links[1:]}
        )
        await lady.engine.apply_snapshot(changed)
        assert links._sorted is None  # the change dropped the order: the background redoes it
        for _ in range(100):
            if links._sorted is not None:
                break
            await asyncio.sleep(0.05)
        assert links._sorted is not None and links.revision == lady.engine.revision
        assert (links.builds, links.updates) == (1, 1)
        await _same_everywhere(lady)

        # most links gone: not rebuilt inside the apply, but in the background after it
        fewer = snapshot.model_copy(
            update={"snapshot_id": "catalogue-fixture-5", "links": snapshot.links[:2]}
        )
        await lady.engine.apply_snapshot(fewer)
        assert links.revision is None and links.builds == 1
        for _ in range(100):
            if links._sorted is not None:
                break
            await asyncio.sleep(0.05)
        assert links.revision == lady.engine.revision and links.builds == 2
        await _same_everywhere(lady)
    finally:
        stop()
    assert links._after_change not in lady.engine.applied
