"""Relationships removed and changed by a difference (each end found by its key), and nodes
whose volatile properties alone moved: the rows the store holds after them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from meshq_graph_engine import diff
from meshq_runtime.graph import writer
from meshq_runtime.graph.store import EmbeddedStore


@pytest.fixture
async def store(tmp_path: Path):
    s = EmbeddedStore(tmp_path / "graph" / "db")
    await writer.ensure_schema(s)
    yield s
    await s.close()


def _iface(i: int) -> dict[str, Any]:
    return {"id": f"sw{i // 4}|Gi1/0/{i % 4}", "device": f"sw{i // 4}", "name": f"Gi1/0/{i % 4}"}


async def _links(store: EmbeddedStore, count: int) -> list[dict[str, Any]]:
    ifaces = [_iface(i) for i in range(2 * count)]
    await writer.create_nodes(store, "Interface", ifaces)
    links = [
        {
            "src": ifaces[2 * i]["id"],
            "dst": ifaces[2 * i + 1]["id"],
            "evidence": "lldp_both",
            "confidence": 1.0,
        }
        for i in range(count)
    ]
    await writer.create_rels(store, "CONNECTED_TO", links)
    return links


async def test_removed_relationships_and_only_those(store: EmbeddedStore, monkeypatch) -> None:
    monkeypatch.setattr(diff, "REL_BATCH", 3)  # several statements
    links = await _links(store, 10)
    gone = [*links[2:9:2], {"src": links[0]["src"], "dst": "nowhere|x", "evidence": None}]
    await diff.delete_rels(store, "CONNECTED_TO", gone)
    kept = {(r["src"], r["dst"]): r for r in links if r not in gone}
    assert await writer.read_rels(store, "CONNECTED_TO") == kept


async def test_changed_relationships_typed_as_the_schema_says(
    store: EmbeddedStore, monkeypatch
) -> None:
    monkeypatch.setattr(diff, "REL_BATCH", 2)
    links = await _links(store, 5)
    changed = [dict(links[1], evidence=None, confidence=None), dict(links[3], confidence=0.5)]
    # a relationship that is not there is not made by an update
    absent = {"src": links[0]["src"], "dst": links[4]["dst"], "evidence": "x", "confidence": 1.0}
    await diff.update_rels(store, "CONNECTED_TO", [*changed, absent])
    want = {(r["src"], r["dst"]): r for r in links}
    want.update({(r["src"], r["dst"]): r for r in changed})
    assert await writer.read_rels(store, "CONNECTED_TO") == want
    # a relationship without properties has nothing to change
    await diff.update_rels(store, "HAS_INTERFACE", [{"src": "a", "dst": "b"}])


async def test_only_the_volatile_properties_of_touched_nodes_are_set(
    store: EmbeddedStore, monkeypatch
) -> None:
    monkeypatch.setattr(writer, "BATCH", 2)
    endpoints = [
        {
            "id": f"m{i}",
            "mac": f"m{i}",
            "ips": [f"10.0.0.{i}"],
            "device": "sw1",
            "vlan": 10,
            "first_seen": "t0",
            "last_seen": "t0",
        }
        for i in range(5)
    ]
    await writer.create_nodes(store, "Endpoint", endpoints)
    # a touched row carries the node's every property: only ``last_seen`` differs
    touched = [dict(e, last_seen="t1") for e in endpoints[1:4]]
    await diff.update_volatile(store, "Endpoint", touched)
    stored = await writer.read_nodes(store, "Endpoint")
    assert {i: r["last_seen"] for i, r in stored.items()} == {
        "m0": "t0",
        "m1": "t1",
        "m2": "t1",
        "m3": "t1",
        "m4": "t0",
    }
    assert [stored[e["id"]]["ips"] for e in endpoints] == [e["ips"] for e in endpoints]
    # a label without volatile properties is updated whole
    await writer.create_nodes(store, "Interface", [_iface(0)])
    await diff.update_volatile(store, "Interface", [dict(_iface(0), description="moved")])
    assert (await writer.read_nodes(store, "Interface"))[_iface(0)["id"]]["description"] == "moved"


async def test_a_first_ingest_is_written_a_column_at_a_time(store: EmbeddedStore) -> None:
    """The rows of a whole new graph go to the store as columns read straight from the
    projection's tuples (no dictionary per row): the same Arrow tables as the rows' own
    dictionaries give, and the same rows in the store."""
    from meshq_graph_engine.projection import Projection

    new = Projection()
    for i in range(120):
        new.add_node(
            "Interface",
            {**_iface(i), "speed_mbps": 1000 + i, "trunk_vlans": [10, i + 1] if i % 2 else []},
        )
    ifaces = sorted(new.nodes["Interface"])
    for a, b in zip(ifaces[::2], ifaces[1::2], strict=True):
        new.add_rel("CONNECTED_TO", a, b, evidence="lldp_both", confidence=0.5)
    d = diff.diff(Projection(), new)
    nodes, rels = d.added["Interface"], d.rels_added["CONNECTED_TO"]
    node_columns = {"id": "STRING", **writer.NODES["Interface"].props}
    rel_columns = {"src": "STRING", "dst": "STRING", **writer.RELS["CONNECTED_TO"].props}
    assert nodes.column("trunk_vlans") is not None  # type: ignore[attr-defined]
    for rows, columns in ((nodes, node_columns), (rels, rel_columns)):
        assert writer._arrow_table(rows, columns).equals(writer._arrow_table(list(rows), columns))
    part = nodes.part(10, 20)  # type: ignore[attr-defined]
    assert writer._arrow_table(part, node_columns).equals(
        writer._arrow_table(list(nodes)[10:20], node_columns)
    )
    await diff.apply_diff(store, d)
    stored = await writer.read_nodes(store, "Interface")
    assert {i: r["trunk_vlans"] for i, r in stored.items()} == {
        r["id"]: r["trunk_vlans"] for r in nodes
    }
    assert len(await writer.read_rels(store, "CONNECTED_TO")) == 60
