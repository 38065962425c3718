"""The graph engine's write side on an embedded LadybugDB: scope, re-ingest, patches, repair."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from meshq_graph_engine.engine import DeviceLimitExceeded, GraphEngine
from meshq_runtime.graph import writer
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.model import MetadataPatch, Snapshot

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def _snapshot(
    snapshot_id: str,
    devices: list[str],
    *,
    links: list[tuple[str, str]] = (),
    kinds: tuple[str, ...] = ("device", "interfaces", "links"),
    when: datetime = T0,
    os_version: str = "17.9.4",
) -> Snapshot:
    data: dict[str, Any] = {
        "snapshot_id": snapshot_id,
        "source": "test",
        "collected_at": when.isoformat(),
        "scope": [{"device": d, "facts": list(kinds)} for d in devices],
        "devices": [
            {"hostname": d, "platform": "cisco_ios", "os_version": os_version} for d in devices
        ]
        if "device" in kinds
        else [],
        "interfaces": [
            {"device": d, "name": f"GigabitEthernet0/{i}"} for d in devices for i in range(1, 4)
        ]
        if "interfaces" in kinds
        else [],
        "links": [
            {
                "a": {"device": a, "interface": "GigabitEthernet0/1"},
                "b": {"device": b, "interface": "GigabitEthernet0/2"},
                "evidence": "lldp_both",
            }
            for a, b in links
        ],
    }
    return Snapshot.model_validate(data)


async def _count(engine: GraphEngine, label: str) -> int:
    return len(await writer.read_nodes(engine.store, label))


async def test_first_snapshot_adds_and_reingest_is_a_noop(engine: GraphEngine) -> None:
    snap = _snapshot("s1", ["sw1", "sw2", "sw3"], links=[("sw1", "sw2"), ("sw2", "sw3")])
    first = await engine.apply_snapshot(snap)
    assert first.added == {"devices": 3, "interfaces": 9, "links": 2}
    assert not first.empty
    again = await engine.apply_snapshot(snap)
    assert again.empty and again.added == again.removed == again.updated == {}


async def test_a_missing_link_is_exactly_the_diff(engine: GraphEngine) -> None:
    await engine.apply_snapshot(
        _snapshot("s1", ["sw1", "sw2", "sw3"], links=[("sw1", "sw2"), ("sw2", "sw3")])
    )
    result = await engine.apply_snapshot(
        _snapshot("s2", ["sw1", "sw2", "sw3"], links=[("sw1", "sw2")])
    )
    assert result.removed == {"links": 1}
    assert result.added == {} and result.updated == {}
    rels = await writer.read_rels(engine.store, "CONNECTED_TO")
    assert set(rels) == {("sw1|GigabitEthernet0/1", "sw2|GigabitEthernet0/2")}


async def test_a_snapshot_replaces_only_its_scope(engine: GraphEngine) -> None:
    await engine.apply_snapshot(_snapshot("big", [f"sw{i}" for i in range(1, 11)]))
    small = await engine.apply_snapshot(
        _snapshot("small", ["sw1", "sw2", "sw3"], os_version="17.12.1")
    )
    assert small.updated == {"devices": 3} and small.removed == {}
    assert await _count(engine, "Device") == 10


async def test_undeclared_fact_kinds_are_left_alone(engine: GraphEngine) -> None:
    await engine.apply_snapshot(_snapshot("full", ["sw1", "sw2"]))
    # This run collected only the device records: the interfaces it did not read must stay.
    result = await engine.apply_snapshot(_snapshot("partial", ["sw1", "sw2"], kinds=("device",)))
    assert result.empty
    assert await _count(engine, "Interface") == 6


async def test_a_declared_kind_with_no_facts_removes_them(engine: GraphEngine) -> None:
    await engine.apply_snapshot(_snapshot("s1", ["sw1", "sw2"], links=[("sw1", "sw2")]))
    result = await engine.apply_snapshot(_snapshot("s2", ["sw1", "sw2"], kinds=("device", "links")))
    assert result.removed == {"links": 1}
    assert await _count(engine, "Interface") == 6


async def test_patches_survive_reingest(engine: GraphEngine) -> None:
    snap = _snapshot("s1", ["sw1", "sw2"])
    await engine.apply_snapshot(snap)
    await engine.apply_patch(
        MetadataPatch(hostname="sw1", source="netbox", site="paris", rack="R1")
    )
    await engine.apply_snapshot(snap)
    device = (await writer.read_nodes(engine.store, "Device"))["sw1"]
    assert (device["site"], device["rack"]) == ("paris", "R1")


async def test_restart_reprojects_and_repairs_the_store(tmp_path: Path) -> None:
    path = tmp_path / "graph" / "db"
    store = EmbeddedStore(path)
    engine = GraphEngine(store)
    await engine.start()
    await engine.apply_snapshot(_snapshot("s1", ["sw1", "sw2"], links=[("sw1", "sw2")]))
    # Simulate a crash between the fact write and the projection write: a node goes missing.
    await writer.delete_nodes(store, "Device", ["sw2"])
    await store.close()

    store = EmbeddedStore(path)
    engine = GraphEngine(store)
    await engine.start()
    assert set(await writer.read_nodes(store, "Device")) == {"sw1", "sw2"}
    assert len(await writer.read_rels(store, "CONNECTED_TO")) == 1
    assert (
        await engine.apply_snapshot(_snapshot("s1", ["sw1", "sw2"], links=[("sw1", "sw2")]))
    ).empty
    await store.close()


async def test_device_limit_refuses_the_whole_snapshot(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "db")
    engine = GraphEngine(store, device_limit=lambda: ("community", 3))
    await engine.start()
    await engine.apply_snapshot(_snapshot("s1", ["sw1", "sw2"]))
    with pytest.raises(DeviceLimitExceeded, match="community plan allows 3"):
        await engine.apply_snapshot(_snapshot("s2", ["sw3", "sw4"]))
    assert set(await writer.read_nodes(store, "Device")) == {"sw1", "sw2"}
    # the refused facts are not kept either: a re-ingest of s1 changes nothing
    assert (await engine.apply_snapshot(_snapshot("s1", ["sw1", "sw2"]))).empty
    await store.close()


LAB1 = Path(__file__).resolve().parents[2] / "fixtures" / "cli" / "lab1"


async def test_parsed_device_output_builds_links_and_endpoints(engine: GraphEngine) -> None:
    from network_discovery.parsers import parse_directory

    snapshot, report = parse_directory(LAB1)
    assert report.ok, report.summary()
    first = await engine.apply_snapshot(snapshot)
    assert first.added["links"] >= 6 and first.added["endpoints"] >= 10
    rels = await writer.read_rels(engine.store, "CONNECTED_TO")
    assert any(r["evidence"] == "lldp_both" for r in rels.values())

    # The same devices again, but one LLDP neighbour gone from both ends: exactly one link goes.
    both = next(
        r
        for r in rels.values()
        if r["evidence"] == "lldp_both"
        and not any(
            n.protocol == "cdp"
            for n in snapshot.neighbors
            if f"{n.device}|{n.interface}" in (r["src"], r["dst"])
        )
    )
    ends = {both["src"], both["dst"]}
    dropped = [
        n for n in snapshot.neighbors if n.protocol == "lldp" and n.local_interface_id in ends
    ]
    assert len(dropped) == 2
    kept = tuple(n for n in snapshot.neighbors if n not in dropped)
    second = await engine.apply_snapshot(
        snapshot.model_copy(update={"snapshot_id": "lab1-b", "neighbors": kept})
    )
    assert second.removed == {"links": 1}, second
    assert second.added == {}
