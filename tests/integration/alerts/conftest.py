"""An alert store on a PostgreSQL database of the test's own, and graph-engine's catalogue
served in process over the demo network (the internal query API the evaluator asks)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from meshq_alerts.store import MIGRATIONS, AlertStore, init_connection
from network_discovery.demo import load_snapshot
from support.graph_lab import GraphLab, graph_lab
from support.pgdb import migrated_pool


@pytest.fixture
async def alerts(stack) -> AsyncIterator[AlertStore]:
    schema = (("alerts", MIGRATIONS),)
    async with migrated_pool(stack.postgres_url, "meshq_alerts", schema, init_connection) as pool:
        yield AlertStore(pool)


@pytest.fixture
async def demo_graph(tmp_path: Path) -> AsyncIterator[GraphLab]:
    """The demo network in a graph of the test's own."""
    async with graph_lab(tmp_path / "graph", load_snapshot()) as lab:
        yield lab
