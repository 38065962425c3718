"""A graph (LadybugDB) of a test's own with graph-engine's query routes served over it in
process: what services that ask graph-engine's internal query API are tested against."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from litestar.testing import AsyncTestClient
from meshq_graph_engine.controllers import ROUTES
from meshq_graph_engine.deps import GraphDeps, ReaderDeps
from meshq_graph_engine.engine import GraphEngine
from meshq_graph_engine.reader import GraphReader
from meshq_runtime.graph.store import EmbeddedStore
from meshq_runtime.http import ServiceState, build_app
from network_discovery.model.snapshot import Snapshot

__all__ = ["GraphLab", "graph_lab"]


@dataclass
class GraphLab:
    """A graph that snapshots are applied to, and graph-engine's query routes over it
    (``client``, an httpx client: what a service's graph-engine client takes)."""

    engine: GraphEngine
    reader: GraphReader
    client: httpx.AsyncClient

    async def apply(self, snapshot: Snapshot) -> dict[str, Any]:
        result = await self.engine.apply_snapshot(snapshot)
        await self.reader.refresh()
        return result if isinstance(result, dict) else {"result": result}


@asynccontextmanager
async def graph_lab(path: Path, first: Snapshot) -> AsyncIterator[GraphLab]:
    """A graph at ``path`` with ``first`` applied, served; closed after."""
    graph = EmbeddedStore(path)
    engine = GraphEngine(graph)
    await engine.start()
    try:
        await engine.apply_snapshot(first)
        reader = GraphReader(graph)
        await reader.refresh()
        state: ServiceState[GraphDeps] = ServiceState(service="graph-engine")
        writer = httpx.AsyncClient(base_url="http://writer.invalid")  # reads never reach it
        state.deps = ReaderDeps(store=graph, engine=reader, writer=writer, metrics=None)
        app = build_app(service="graph-engine", route_handlers=ROUTES, state=state)
        async with AsyncTestClient(app=app) as client:
            yield GraphLab(engine, reader, client)
        await writer.aclose()
    finally:
        await graph.close()
