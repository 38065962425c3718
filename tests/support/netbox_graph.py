"""Helpers for the NetBox sync tests: the graph side and NetBox seeding.

The graph side is the real graph engine on LadybugDB with the fixture network of
``tests/fixtures/netbox/network.yaml``; the sync reads it through the engine's query catalogue
(served over ASGI as graph-engine serves it) and its pull events are applied by the engine,
as graph-engine's ingest handler applies them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import yaml
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, QueryError, run_query
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.embedded import free_port
from network_discovery.contracts.envelope import EventBase
from network_discovery.contracts.events import SnapshotPatch, SnapshotSubmitted
from network_discovery.integrations.netbox import GraphReader
from network_discovery.model import Snapshot
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from support.netbox_fake import FakeNetBox

__all__ = ["FIXTURE", "TOKEN", "Graph", "device_kit", "fixture_snapshot", "serving"]

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "netbox" / "network.yaml"
TOKEN = "0123456789abcdef0123456789abcdef01234567"


def fixture_snapshot() -> Snapshot:
    return Snapshot.model_validate(yaml.safe_load(FIXTURE.read_text()))


@dataclass
class Graph:
    engine: GraphEngine
    published: list[EventBase] = field(default_factory=list)

    async def publish(self, event: EventBase) -> None:
        self.published.append(event)
        if isinstance(event, SnapshotPatch):
            await self.engine.apply_patch(event.data)
        elif isinstance(event, SnapshotSubmitted):
            await self.engine.apply_snapshot(event.data)

    async def query(self, name: str, **params: Any) -> list[dict[str, Any]]:
        result = await run_query(
            REGISTRY, name, params, QueryContext(self.engine.store, self.engine)
        )
        return result.rows

    def app(self) -> Starlette:
        """graph-engine's internal query API over this graph (``/internal/queries/{name}``)."""

        async def execute(request: Request) -> JSONResponse:
            body = await request.json()
            try:
                rows = await self.query(request.path_params["name"], **body)
            except QueryError as exc:
                return JSONResponse({"title": exc.title, "detail": exc.detail}, exc.status)
            return JSONResponse({"rows": rows, "row_count": len(rows)})

        return Starlette(routes=[Route("/internal/queries/{name}", execute, methods=["POST"])])

    def reader(self) -> GraphReader:
        return GraphReader(
            "http://graph-engine",
            prefix="/internal/queries",
            transport=httpx.ASGITransport(app=self.app()),
        )


def device_kit(netbox: FakeNetBox, site: str, maker: str, model: str, role: str) -> dict[str, int]:
    """What a NetBox device needs (site, device type, role), as an administrator made them:
    the ids to pass as ``**kit`` when adding devices."""
    site_obj = netbox.add("dcim/sites", name=site, slug=site.lower(), status="active")
    maker_obj = netbox.add("dcim/manufacturers", name=maker, slug=maker.lower())
    dtype = netbox.add(
        "dcim/device-types", manufacturer=maker_obj["id"], model=model, slug=model.lower()
    )
    role_obj = netbox.add("dcim/device-roles", name=role, slug=role.lower().replace(" ", "-"))
    return {"site": site_obj["id"], "device_type": dtype["id"], "role": role_obj["id"]}


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    """``app`` on a loopback port, in the running event loop (where the graph's store lives),
    for code that reaches the graph by URL (the netbox-sync service); yields its URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(20):
            while not server.started:
                if task.done():
                    raise RuntimeError("the graph's server did not start")
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
