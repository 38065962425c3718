"""A probe store on a PostgreSQL database of the test's own, and graph-engine's catalogue
served in process over the catalogue's fixture network (what path_analysis answers from)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import yaml
from litestar.testing import AsyncTestClient
from meshq_graph_engine.controllers import ROUTES
from meshq_graph_engine.deps import GraphDeps, ReaderDeps
from meshq_graph_engine.engine import GraphEngine
from meshq_graph_engine.reader import GraphReader
from meshq_prober.store import MIGRATIONS, ProbeStore, init_connection
from meshq_runtime.graph.store import EmbeddedStore
from meshq_runtime.http import ServiceState, build_app
from meshq_runtime.postgres import apply_schema, create_pool
from meshq_runtime.settings import PostgresSettings
from network_discovery.model import Snapshot
from support.pgdb import fresh_database

NETWORK = Path(__file__).resolve().parents[2] / "fixtures" / "graph" / "network.yaml"


@pytest.fixture
async def probe_store(stack) -> AsyncIterator[ProbeStore]:
    async with fresh_database(stack.postgres_url, "meshq_prober") as url:
        settings = PostgresSettings.model_validate({"postgres_url": url})
        pool = await create_pool(settings, init=init_connection)
        try:
            await apply_schema(pool, (("prober", MIGRATIONS),))
            yield ProbeStore(pool)
        finally:
            await pool.close()


@pytest.fixture
async def graph_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """graph-engine's internal query routes over tests/fixtures/graph/network.yaml."""
    graph = EmbeddedStore(tmp_path / "graph")
    engine = GraphEngine(graph)
    await engine.start()
    try:
        await engine.apply_snapshot(Snapshot.model_validate(yaml.safe_load(NETWORK.read_text())))
        reader = GraphReader(graph)
        await reader.refresh()
        state: ServiceState[GraphDeps] = ServiceState(service="graph-engine")
        writer = httpx.AsyncClient(base_url="http://writer.invalid")  # reads never reach it
        state.deps = ReaderDeps(store=graph, engine=reader, writer=writer, metrics=None)
        app = build_app(service="graph-engine", route_handlers=ROUTES, state=state)
        async with AsyncTestClient(app=app) as client:
            yield client
        await writer.aclose()
    finally:
        await graph.close()
