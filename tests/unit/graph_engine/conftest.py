"""A graph engine on a fresh embedded LadybugDB for each test."""

from __future__ import annotations

from pathlib import Path

import pytest
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph.store import EmbeddedStore


@pytest.fixture
async def engine(tmp_path: Path):
    store = EmbeddedStore(tmp_path / "graph" / "db")
    eng = GraphEngine(store)
    await eng.start()
    yield eng
    await store.close()
