"""The query side (``MESHQ_GRAPH_ENGINE_ROLE=reader``): it follows the revision the writer
stores, rebuilds what it derives from the graph when that moves, and refuses to start where it
cannot work.

Here reader and writer share one embedded store in one process; the integration test
``test_graph_reader`` runs the writer as its own process.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from meshq_graph_engine.app import create_app
from meshq_graph_engine.blast import load_topology
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, QueryError, run_query
from meshq_graph_engine.engine import GraphEngine
from meshq_graph_engine.reader import GraphReader, ReaderError, reader_group
from meshq_graph_engine.revision import read_revision
from meshq_graph_engine.settings import Settings
from meshq_runtime.graph.store import EmbeddedStore
from network_discovery.model import MetadataPatch
from unit.graph_engine.test_engine import _snapshot


async def test_the_writer_stores_its_revision_and_keeps_it_across_restarts(
    tmp_path: Path,
) -> None:
    store = EmbeddedStore(tmp_path / "g")
    engine = GraphEngine(store)
    await engine.start()
    assert engine.revision == 0 and await read_revision(store) == 0
    await engine.apply_snapshot(_snapshot("s1", ["sw1", "sw2"], links=[("sw1", "sw2")]))
    await engine.apply_snapshot(_snapshot("s2", ["sw1", "sw2", "sw3"], links=[("sw2", "sw3")]))
    assert engine.revision == 2 and await read_revision(store) == 2
    await store.close()

    store = EmbeddedStore(tmp_path / "g")
    again = GraphEngine(store)
    await again.start()  # nothing to repair: the revision stays where it was
    assert again.revision == 2
    await store.close()


async def test_the_reader_follows_snapshots_and_patches(engine: GraphEngine) -> None:
    reader = GraphReader(engine.store)
    with pytest.raises(RuntimeError, match="not been loaded"):
        await reader.ready_probe()
    assert await reader.refresh() is True  # the first read loads revision 0
    await reader.ready_probe()
    assert reader.graph_revision == 0
    assert await reader.refresh() is False

    await engine.apply_snapshot(
        _snapshot("s1", ["sw1", "sw2", "sw3"], links=[("sw1", "sw2"), ("sw2", "sw3")])
    )
    before = await load_topology(reader.store, reader)
    assert await reader.refresh() is True and reader.graph_revision == engine.revision
    first = await load_topology(reader.store, reader)
    assert first is not before and len(first.links) == 2
    assert await load_topology(reader.store, reader) is first  # cached while nothing moves

    # sw3 loses its link: the reader's blast radius sees it once the revision moved.
    await engine.apply_snapshot(_snapshot("s2", ["sw2", "sw3"], links=[]))
    assert await reader.refresh() is True
    second = await load_topology(reader.store, reader)
    assert second is not first and len(second.links) == 1

    # A patch publishes no event; the periodic refresh finds the new revision all the same.
    revision = reader.graph_revision
    await engine.apply_patch(MetadataPatch(hostname="sw1", source="user", role="core"))
    assert await reader.refresh() is True and reader.graph_revision == revision + 1
    ctx = QueryContext(reader.store, reader)
    rows = await run_query(REGISTRY, "blast_radius_device", {"device": "sw1"}, ctx)
    writer_rows = await run_query(
        REGISTRY, "blast_radius_device", {"device": "sw1"}, QueryContext(engine.store, engine)
    )
    assert rows.rows == writer_rows.rows


async def test_the_periodic_refresh_follows_without_events(engine: GraphEngine) -> None:
    reader = GraphReader(engine.store)
    task = asyncio.create_task(reader.follow(0.05))
    try:
        for _ in range(100):
            if reader.loaded:
                break
            await asyncio.sleep(0.05)
        assert reader.graph_revision == 0  # the first read happens at once
        await engine.apply_snapshot(_snapshot("s1", ["sw1", "sw2"], links=[("sw1", "sw2")]))
        for _ in range(100):
            if reader.graph_revision == engine.revision:
                break
            await asyncio.sleep(0.05)
        assert reader.graph_revision == engine.revision == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_reader_does_not_write(engine: GraphEngine) -> None:
    await engine.apply_snapshot(_snapshot("s1", ["sw1"]))
    reader = GraphReader(engine.store)
    await reader.refresh()
    with pytest.raises(QueryError) as err:
        await run_query(
            REGISTRY,
            "update_device_metadata",
            {"device": "sw1", "role": "core"},
            QueryContext(reader.store, reader),
        )
    assert err.value.status == 503


def test_every_reader_has_a_group_of_its_own() -> None:
    a, b = reader_group("graph-engine"), reader_group("graph-engine")
    assert a != b and a.startswith("graph-engine-reader.")


def _settings(**env: str) -> Settings:
    return Settings(**env)  # type: ignore[arg-type]


def test_a_reader_on_the_embedded_store_is_refused_with_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(ReaderError, match=r"needs MEMGRAPH_URI.*LadybugDB"):
        create_app(_settings(MESHQ_GRAPH_ENGINE_ROLE="reader", MESHQ_DATA_DIR=str(tmp_path)))
    with pytest.raises(ReaderError, match="needs MESHQ_GRAPH_ENGINE_WRITER_URL"):
        create_app(_settings(MESHQ_GRAPH_ENGINE_ROLE="reader", MEMGRAPH_URI="bolt://memgraph:7687"))
    assert not (tmp_path / "graph").exists()  # nothing was opened
    with pytest.raises(ValueError, match="MESHQ_GRAPH_ENGINE_ROLE"):
        _settings(MESHQ_GRAPH_ENGINE_ROLE="replica")


def test_the_process_exits_with_the_message(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "MESHQ_GRAPH_ENGINE_ROLE": "reader",
        "MESHQ_DATA_DIR": str(tmp_path),
        "MEMGRAPH_URI": "",
    }
    done = subprocess.run(
        [sys.executable, "-m", "meshq_graph_engine"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().startswith("graph-engine: MESHQ_GRAPH_ENGINE_ROLE=reader needs")
    assert "Traceback" not in done.stderr
