"""The MCP bridge: the network as MCP tools, resources and prompts, over the query gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from litestar import Litestar
from meshq_runtime.http import ServiceState, build_app
from meshq_runtime.service import http_probe

from meshq_mcp_bridge.settings import Settings

__all__ = ["SERVICE", "create_app"]

SERVICE = "mcp-bridge"


def create_app(settings: Settings) -> Litestar:
    state = ServiceState(service=SERVICE)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            headers = {"X-API-Key": settings.api_key.get_secret_value()} if settings.api_key else {}
            api = httpx.AsyncClient(base_url=settings.api_url, headers=headers, timeout=30.0)
            stack.push_async_callback(api.aclose)
            state.probes[:] = [http_probe("query-gateway", settings.api_url, api)]
            state.extras.update(api=api)
            yield

    return build_app(service=SERVICE, lifespan=lifespan, state=state)
