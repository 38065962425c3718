"""The MCP bridge: the network as MCP tools, resources and prompts, over the query gateway.

The MCP endpoint is mounted at ``/mcp`` (streamable HTTP). Each MCP request must carry the
caller's own credential (``Authorization: Bearer`` or ``X-API-Key``), which is what the gateway
sees: RBAC and audit apply to the real user, never to this service's key. The service's own key
(``MESHOPTIXIQ_API_KEY``) is only used for its readiness probe.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from litestar import Litestar
from litestar.handlers import asgi
from meshq_runtime.http import ServiceState, build_app
from meshq_runtime.service import http_probe
from network_discovery.mcp._gateway import Credential, Gateway, new_client
from network_discovery.mcp.http import McpHttp

from meshq_mcp_bridge.settings import Settings

__all__ = ["SERVICE", "create_app"]

SERVICE = "mcp-bridge"


def create_app(settings: Settings) -> Litestar:
    # its only route is the MCP mount, which holds what it needs itself: no dependencies
    state: ServiceState[None] = ServiceState(service=SERVICE)
    url = settings.api_url.rstrip("/")
    # No default credential: a call without the caller's own is refused before it gets here.
    mcp_http = McpHttp(Gateway(url=url, default=Credential(), client=new_client()))

    @asgi("/mcp", is_mount=True, copy_scope=True)
    async def mcp_endpoint(scope: Any, receive: Any, send: Any) -> None:
        await mcp_http(dict(scope), receive, send)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            headers = {"X-API-Key": settings.api_key.get_secret_value()} if settings.api_key else {}
            api = httpx.AsyncClient(base_url=url, headers=headers, timeout=30.0)
            stack.push_async_callback(api.aclose)
            stack.push_async_callback(mcp_http.gateway.client.aclose)
            await stack.enter_async_context(mcp_http.running())
            state.probes[:] = [http_probe("query-gateway", url, api)]
            yield

    return build_app(service=SERVICE, route_handlers=[mcp_endpoint], lifespan=lifespan, state=state)
