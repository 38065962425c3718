"""``meshq-mcp``: the MCP server for AI assistants.

It reaches the network only through the query gateway named by ``MESHOPTIXIQ_API_URL``, with
``MESHOPTIXIQ_API_KEY`` (stdio) or the caller's own credential (streamable HTTP). It needs no
license key: the plan comes from the gateway's ``GET /license``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meshq-mcp", description="MCP server over the MeshOptixIQ query gateway."
    )
    parser.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP only (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8006, help="HTTP only (default 8006)")
    return parser


async def _stdio() -> None:
    from mcp.server.stdio import stdio_server

    from network_discovery.mcp._gateway import Gateway
    from network_discovery.mcp.app import build_server

    gateway = Gateway.from_env()
    async with gateway.client:
        server = build_server(gateway)
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())


def http_app() -> Any:
    """A Starlette app with ``/mcp`` and ``/health``, for ``--transport http``."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from network_discovery.mcp._gateway import Gateway
    from network_discovery.mcp.http import McpHttp

    mcp_http = McpHttp(Gateway.from_env())

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        async with mcp_http.gateway.client, mcp_http.running():
            yield

    async def health(_: Any) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[Route("/mcp", endpoint=mcp_http), Route("/health", endpoint=health)],
        lifespan=lifespan,
    )


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        import mcp  # noqa: F401
    except ImportError:
        print("meshq-mcp: install the MCP extra: network_discovery[mcp]", file=sys.stderr)
        sys.exit(2)
    if args.transport == "http":
        import uvicorn

        uvicorn.run(http_app(), host=args.host, port=args.port, log_level="warning")
        return
    import anyio

    try:
        anyio.run(_stdio)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
