"""The HTTP endpoint in-process: refuses anonymous calls, forwards the caller's credential."""

from __future__ import annotations

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp_fake_gateway import URL
from network_discovery.mcp._gateway import Credential, Gateway
from network_discovery.mcp.http import McpHttp


async def test_caller_credential_and_correlation_id_reach_the_gateway(fake) -> None:
    upstream = httpx.AsyncClient(transport=httpx.MockTransport(fake))
    mcp_http = McpHttp(Gateway(url=URL, default=Credential(), client=upstream))
    async with upstream, mcp_http.running():
        transport = httpx.ASGITransport(app=mcp_http)
        async with httpx.AsyncClient(transport=transport, base_url="http://mcp.test") as anon:
            refused = await anon.post("/mcp", json={})
            assert refused.status_code == 401
            assert refused.headers["content-type"] == "application/problem+json"
        headers = {"X-API-Key": "other", "X-Correlation-ID": "corr-42"}
        async with (
            httpx.AsyncClient(transport=transport, headers=headers) as client,
            streamable_http_client("http://mcp.test/mcp", http_client=client) as (r, w, _),
            ClientSession(r, w) as session,
        ):
            await session.initialize()
            result = await session.call_tool("summary_stats", {})
            assert not result.isError, result.content
    runs = [q for q in fake.seen if q.url.path == "/queries/summary_stats"]
    assert runs and runs[-1].headers["x-api-key"] == "other"
    assert runs[-1].headers["x-correlation-id"] == "corr-42"


def test_a_bearer_token_wins_over_a_key() -> None:
    from network_discovery.mcp.app import credential_from_headers

    default = Credential(api_key="service")
    both = {"authorization": "Bearer tok", "x-api-key": "k"}
    assert credential_from_headers(both, default).headers() == {"Authorization": "Bearer tok"}
    assert credential_from_headers({}, default) is default
    assert credential_from_headers(None, default) is default
