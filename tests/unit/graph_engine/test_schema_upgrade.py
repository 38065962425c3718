"""A LadybugDB graph written by an earlier version opens, and gains the model's new properties."""

from __future__ import annotations

from pathlib import Path

from meshq_graph_engine.catalogue import REGISTRY, QueryContext, run_query
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph.schema import NODES, ladybug_ddl
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.model import MetadataPatch
from support.netbox_graph import fixture_snapshot

NEWER = ("netbox_id", "netbox_platform", "netbox_platform_slug")


async def test_an_older_graph_gains_new_device_properties(tmp_path: Path) -> None:
    path = tmp_path / "graph" / "db"
    old = EmbeddedStore(path)
    device = NODES["Device"]
    cols = ", ".join(f"{n} {k}" for n, k in device.props.items() if n not in NEWER)
    await old.execute(f"CREATE NODE TABLE Device(id STRING PRIMARY KEY, {cols})")
    for statement in ladybug_ddl():  # every other table as it is now
        if "TABLE IF NOT EXISTS Device(" not in statement:
            await old.execute(statement)
    await old.close()

    store = EmbeddedStore(path)
    try:
        engine = GraphEngine(store)
        await engine.start()
        info = await store.execute("CALL table_info('Device') RETURN *")
        assert set(NEWER) <= {row["name"] for row in info}
        await engine.apply_snapshot(fixture_snapshot())
        await engine.apply_patch(
            MetadataPatch(hostname="sw-core-01", source="netbox", netbox_id=7, site="HQ")
        )
        rows = await run_query(
            REGISTRY, "netbox_inventory", {"device": "sw-core-01"}, QueryContext(store, engine)
        )
        assert [(r["site"], r["netbox_id"]) for r in rows.rows] == [("HQ", 7)]
    finally:
        await store.close()
