"""Fact sets held packed in memory between applies: read back as the same rows, hashed without
being decoded, written over by the next change, and loaded packed at start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from meshq_graph_engine.engine import GraphEngine
from meshq_graph_engine.facts import FactSets, deflate, set_bytes
from meshq_graph_engine.journal import facts_digest
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.model import Snapshot


def _snapshot(
    snapshot_id: str, devices: list[str], *, hour: int = 0, speed: int = 1000
) -> Snapshot:
    data: dict[str, Any] = {
        "snapshot_id": snapshot_id,
        "source": "test",
        "collected_at": f"2026-01-01T{hour:02d}:00:00+00:00",
        "scope": [{"device": d, "facts": ["device", "interfaces", "mac_table"]} for d in devices],
        "devices": [{"hostname": d, "platform": "cisco_ios"} for d in devices],
        "interfaces": [
            {
                "device": d,
                "name": f"GigabitEthernet0/{i}",
                "speed_mbps": speed,
                "trunk_vlans": [10, 20],
            }
            for d in devices
            for i in range(1, 4)
        ],
        "mac_table": [
            {
                "device": d,
                "mac": f"00:11:22:33:44:{i:02x}",
                "vlan": 10,
                "interface": f"Gi0/{hour + 1}",
            }
            for i, d in enumerate(devices)
        ],
    }
    return Snapshot.model_validate(data)


def _copy(sets: FactSets) -> dict[Any, Any]:
    return {key: sets[key] for key in sets}


async def test_sets_are_held_packed_and_read_back_the_same(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "db")
    engine = GraphEngine(store)
    await engine.start()
    await engine.apply_snapshot(_snapshot("s1", ["sw1", "sw2"]))
    sets = engine.facts.sets
    assert isinstance(sets, FactSets)
    # interfaces and MAC tables packed; the device records (read whole by the plan's count) not
    assert sets.packed() == 4 and len(sets) == 6
    iface = sets[("sw1", "interfaces")]
    assert [r.name for r in iface] == [f"GigabitEthernet0/{i}" for i in (1, 2, 3)]
    assert iface[0].trunk_vlans == (10, 20) and iface[0].speed_mbps == 1000
    assert sets[("sw1", "interfaces")] is iface  # one decoding until the next pack
    # hashed from what is held, without decoding: the same digest as the rows give
    rows = _copy(sets)
    assert facts_digest(list(rows), sets) == facts_digest(list(rows), rows)
    assert sets.set_bytes(("sw1", "interfaces")) == set_bytes(iface)

    # a change to one device: its sets replaced, then packed again
    await engine.apply_snapshot(_snapshot("s2", ["sw1"], hour=1, speed=10000))
    assert sets.packed() == 4
    assert {r.speed_mbps for r in sets[("sw1", "interfaces")]} == {10000}
    assert {r.speed_mbps for r in sets[("sw2", "interfaces")]} == {1000}
    before = _copy(sets)
    projection = engine.projection
    await store.close()

    # a restart holds the stored payloads packed and derives the same graph from them
    store = EmbeddedStore(tmp_path / "db")
    again = GraphEngine(store)
    await again.start()
    assert again.facts.sets.packed() == 4
    assert _copy(again.facts.sets) == before
    assert again.projection.nodes == projection.nodes
    assert again.projection.rels == projection.rels
    await store.close()


def test_a_set_packed_by_another_models_fields_gains_the_defaults() -> None:
    sets = FactSets()
    old = b'{"f":["device","name"],"r":[["sw1","Gi0/1"]]}'
    sets.hold(("sw1", "interfaces"), deflate(old))
    (row,) = sets[("sw1", "interfaces")]
    # validated again by the model: the name canonical, the other fields their defaults
    assert (row.device, row.name) == ("sw1", "GigabitEthernet0/1")
    assert row.trunk_vlans == () and row.description is None
    sets.hold(("sw2", "interfaces"), deflate(b"[]"))
    assert sets[("sw2", "interfaces")] == ()
    sets.pack()  # nothing held as rows: nothing to pack, the decodings dropped
    assert sets.packed() == 2
    del sets[("sw2", "interfaces")]
    assert ("sw2", "interfaces") not in sets and len(sets) == 1
