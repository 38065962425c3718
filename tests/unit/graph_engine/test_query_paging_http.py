"""``POST /internal/queries/{name}?limit=L&offset=O``: one page of the answer, ``row_count`` the
size of the whole answer, ``offset`` and ``limit`` named; out-of-bounds pages are refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient
from meshq_graph_engine.controllers import ROUTES
from meshq_graph_engine.deps import GraphDeps, ReaderDeps
from meshq_graph_engine.engine import GraphEngine
from meshq_graph_engine.reader import GraphReader
from meshq_runtime.graph.store import EmbeddedStore
from meshq_runtime.http import ServiceState, build_app
from network_discovery.model import Snapshot

DEVICES = [f"sw{n:02d}" for n in range(12)]


def _snapshot() -> Snapshot:
    return Snapshot.model_validate(
        {
            "snapshot_id": "paging",
            "source": "test",
            "collected_at": "2026-06-01T08:00:00+00:00",
            "scope": [{"device": d, "facts": ["device"]} for d in DEVICES],
            "devices": [{"hostname": d, "site": "hq"} for d in DEVICES],
        }
    )


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AsyncTestClient[Any]]:
    store = EmbeddedStore(tmp_path / "graph" / "db")
    engine = GraphEngine(store)
    await engine.start()
    await engine.apply_snapshot(_snapshot())
    reader = GraphReader(store)
    await reader.refresh()
    state: ServiceState[GraphDeps] = ServiceState(service="graph-engine")
    writer = httpx.AsyncClient(base_url="http://writer.invalid")  # reads never reach it
    state.deps = ReaderDeps(store=store, engine=reader, writer=writer)
    async with AsyncTestClient(
        app=build_app(service="graph-engine", route_handlers=ROUTES, state=state)
    ) as test:
        yield test
    await writer.aclose()
    await store.close()


async def test_a_page_of_the_answer(client: AsyncTestClient[Any]) -> None:
    whole = await client.post("/internal/queries/all_devices", json={})
    assert whole.status_code == 200, whole.text
    body = whole.json()
    assert body["row_count"] == len(DEVICES) and len(body["rows"]) == len(DEVICES)
    assert (body["offset"], body["limit"]) == (0, None)
    page = await client.post("/internal/queries/all_devices?limit=5&offset=4", json={})
    assert page.status_code == 200, page.text
    paged = page.json()
    assert paged["rows"] == body["rows"][4:9]
    assert (paged["row_count"], paged["offset"], paged["limit"]) == (len(DEVICES), 4, 5)
    last = (await client.post("/internal/queries/all_devices?limit=5&offset=10", json={})).json()
    assert [r["device"] for r in last["rows"]] == DEVICES[10:]


@pytest.mark.parametrize("query", ["limit=0", "limit=10001", "offset=-1", "limit=x"])
async def test_out_of_bounds_pages_are_refused(client: AsyncTestClient[Any], query: str) -> None:
    answer = await client.post(f"/internal/queries/all_devices?{query}", json={})
    assert answer.status_code == 400, answer.text
