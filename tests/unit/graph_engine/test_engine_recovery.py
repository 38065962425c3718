"""An apply that stops dead (the task cancelled at a failpoint, the store closed: what a kill
leaves behind) is finished by the next start, so the snapshot registry and the graph agree."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from meshq_graph_engine.archive import SnapshotArchive
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph import writer
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.model import Snapshot


def _snapshot(name: str, devices: list[str], *, links: list[tuple[str, str]] = ()) -> Snapshot:
    port = "GigabitEthernet0/{}".format
    return Snapshot.model_validate(
        {
            "snapshot_id": name,
            "source": "test",
            "collected_at": "2026-03-01T08:00:00+00:00",
            "scope": [{"device": d, "facts": ["device", "interfaces", "links"]} for d in devices],
            "devices": [{"hostname": d, "platform": "cisco_ios"} for d in devices],
            "interfaces": [{"device": d, "name": port(i)} for d in devices for i in (1, 2)],
            "links": [
                {
                    "a": {"device": a, "interface": port(1)},
                    "b": {"device": b, "interface": port(2)},
                    "evidence": "lldp_both",
                }
                for a, b in links
            ],
        }
    )


async def _records(store: EmbeddedStore) -> dict[str, dict[str, Any]]:
    rows = await writer.read_nodes(store, "Snapshot")
    return {k: {**v, **json.loads(v["summary"])} for k, v in rows.items()}


async def _die_at(engine: GraphEngine, snapshot: Snapshot, hit: asyncio.Event) -> None:
    """Apply until the failpoint holds it, then stop it dead."""
    task = asyncio.create_task(engine.apply_snapshot(snapshot))
    await asyncio.wait_for(hit.wait(), timeout=30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await engine.store.close()


def _failpoint(name: str, hit: asyncio.Event):  # type: ignore[no-untyped-def]
    def check(point: str) -> bool:
        if point == name:
            hit.set()
            return True
        return False

    return check


@pytest.mark.parametrize("point", ["engine.pause_after_journal", "engine.pause_after_facts"])
async def test_a_start_after_a_crash_mid_apply_records_the_snapshot(
    tmp_path: Path, point: str
) -> None:
    path = tmp_path / "graph" / "db"
    archive = SnapshotArchive(tmp_path / "archive")
    store = EmbeddedStore(path)
    first = GraphEngine(store, archive=archive)
    await first.start()
    await first.apply_snapshot(_snapshot("s1", ["sw1", "sw2"], links=[("sw1", "sw2")]))
    hit = asyncio.Event()
    first._failpoint = _failpoint(point, hit)
    s2 = _snapshot("s2", ["sw1", "sw2", "sw3"], links=[("sw1", "sw2"), ("sw2", "sw3")])
    await _die_at(first, s2, hit)

    store = EmbeddedStore(path)
    try:
        again = GraphEngine(store, archive=archive)
        await again.start()
        records = await _records(store)
        assert set(records) == {"s1", "s2"}
        assert records["s2"]["recovered"] is True and "incomplete" not in records["s2"]
        assert records["s2"]["added"]["devices"] == 1  # what s2 changed, not the repair
        assert set(await writer.read_nodes(store, "Device")) == {"sw1", "sw2", "sw3"}
        assert await writer.read_nodes(store, "SnapshotApply") == {}
        # the snapshot delivered again changes nothing and keeps its record
        assert (await again.apply_snapshot(s2)).empty
        assert (await _records(store))["s2"]["added"]["devices"] == 1
    finally:
        await store.close()


async def test_without_the_archive_nothing_written_means_no_record(tmp_path: Path) -> None:
    path = tmp_path / "graph" / "db"
    store = EmbeddedStore(path)
    first = GraphEngine(store)
    await first.start()
    hit = asyncio.Event()
    first._failpoint = _failpoint("engine.pause_after_journal", hit)
    await _die_at(first, _snapshot("s1", ["sw1"]), hit)

    store = EmbeddedStore(path)
    try:
        again = GraphEngine(store)
        await again.start()
        assert await _records(store) == {} and await writer.read_nodes(store, "Device") == {}
        assert await writer.read_nodes(store, "SnapshotApply") == {}
    finally:
        await store.close()


async def test_a_store_failure_midway_makes_the_next_apply_start_from_the_store(
    tmp_path: Path,
) -> None:
    store = EmbeddedStore(tmp_path / "db")
    engine = GraphEngine(store)
    await engine.start()
    boom = {"on": True}

    def failing(point: str) -> bool:
        if point == "engine.pause_after_facts" and boom["on"]:
            raise RuntimeError("the store went away")
        return False

    engine._failpoint = failing
    s1 = _snapshot("s1", ["sw1", "sw2"], links=[("sw1", "sw2")])
    with pytest.raises(RuntimeError):
        await engine.apply_snapshot(s1)
    boom["on"] = False
    retried = await engine.apply_snapshot(s1)  # the consumer's retry
    assert retried.added["devices"] == 2 and not retried.empty
    assert set(await writer.read_nodes(store, "Device")) == {"sw1", "sw2"}
    assert set(await _records(store)) == {"s1"}
    assert await writer.read_nodes(store, "SnapshotApply") == {}
    await store.close()
