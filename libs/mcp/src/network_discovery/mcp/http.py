"""Streamable HTTP for the MCP server: an ASGI app that insists on the caller's credential."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from network_discovery.mcp._gateway import Gateway
from network_discovery.mcp.app import build_server

__all__ = ["McpHttp"]

_UNAUTHORIZED = {
    "type": "about:blank",
    "title": "Unauthorized",
    "status": 401,
    "detail": "send your own credential: Authorization: Bearer <token> or X-API-Key: <key>; "
    "it is forwarded to the query gateway",
}


class McpHttp:
    """The MCP endpoint as an ASGI app; ``running()`` must wrap its lifetime."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.manager = StreamableHTTPSessionManager(
            app=build_server(gateway), stateless=True, json_response=True
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[McpHttp]:
        async with self.manager.run():
            yield self

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        auth = headers.get("authorization", "")
        has_bearer = auth.lower().startswith("bearer ") and auth[7:].strip()
        if not (has_bearer or headers.get("x-api-key")):
            body = json.dumps(_UNAUTHORIZED).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"application/problem+json"),
                        (b"www-authenticate", b'Bearer realm="meshoptixiq"'),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.manager.handle_request(scope, receive, send)
