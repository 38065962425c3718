"""The catalogue's fixture network, loaded into a fresh graph store per test module.

``tests/fixtures/graph/network.yaml`` is the network (links and endpoints declared, so no
derivation is involved); ``tests/fixtures/graph/expected/<query>.yaml`` holds each query's
cases with the rows it must return. LadybugDB always runs; Memgraph runs where
``MEMGRAPH_URI`` points at a scratch instance (the test empties it first).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from meshq_graph_engine.catalogue import QueryContext
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph.store import EmbeddedStore, GraphStore, MemgraphStore
from network_discovery.model import Snapshot

GRAPH_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "graph"
EXPECTED = GRAPH_FIXTURES / "expected"
STORES = ["ladybug", "memgraph"]
NO_MEMGRAPH = (
    "MEMGRAPH_URI is not set: no Memgraph runs on the build machines; set it to a scratch "
    "Memgraph (bolt://host:7687, emptied by this test) to run the conformance cases there"
)


def load_snapshot() -> Snapshot:
    data = yaml.safe_load((GRAPH_FIXTURES / "network.yaml").read_text())
    return Snapshot.model_validate(data)


def load_cases() -> dict[str, list[dict[str, Any]]]:
    """Query name -> its cases (name, params, and rows or error)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(EXPECTED.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        assert doc["query"] == path.stem, f"{path.name} names query {doc['query']}"
        out[doc["query"]] = doc["cases"]
    return out


async def open_store(kind: str, path: Path) -> GraphStore:
    if kind == "ladybug":
        return EmbeddedStore(path / "graph" / "db")
    uri = os.environ.get("MEMGRAPH_URI")
    if not uri:
        pytest.skip(NO_MEMGRAPH)
    store = MemgraphStore(
        uri, os.environ.get("MEMGRAPH_USER", ""), os.environ.get("MEMGRAPH_PASSWORD", "")
    )
    await store.execute("MATCH (n) DETACH DELETE n")
    return store


@dataclass
class Graph:
    kind: str
    store: GraphStore
    engine: GraphEngine

    @property
    def ctx(self) -> QueryContext:
        return QueryContext(self.store, self.engine)


async def build_graph(kind: str, path: Path) -> Graph:
    store = await open_store(kind, path)
    engine = GraphEngine(store)
    await engine.start()
    await engine.apply_snapshot(load_snapshot())
    return Graph(kind, store, engine)


class GraphHolder:
    """The fixture network on one store, rebuilt when a test has written to it."""

    def __init__(self, kind: str, factory: pytest.TempPathFactory) -> None:
        self.kind, self.factory = kind, factory
        self.current: Graph | None = None
        self.dirty = False

    async def get(self) -> Graph:
        if self.current is None or self.dirty:
            await self.close()
            self.current = await build_graph(self.kind, self.factory.mktemp(self.kind))
            self.dirty = False
        return self.current

    async def close(self) -> None:
        if self.current is not None:
            await self.current.store.close()
            self.current = None


@pytest.fixture(scope="module", params=STORES)
async def graphs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[GraphHolder]:
    """The fixture network on each reachable store, shared by a module's tests."""
    holder = GraphHolder(request.param, tmp_path_factory)
    await holder.get()
    yield holder
    await holder.close()


@pytest.fixture
async def lady(tmp_path: Path) -> AsyncIterator[Graph]:
    """A fresh LadybugDB graph of the fixture network, for tests that write."""
    built = await build_graph("ladybug", tmp_path)
    yield built
    await built.store.close()
