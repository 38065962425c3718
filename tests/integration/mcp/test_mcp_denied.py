"""Refusals through a real gateway: a plan without mcp_server, and RBAC."""

from __future__ import annotations

import json

import pytest
from support.procs import ServiceProc, free_port

pytestmark = pytest.mark.integration


async def test_plan_without_mcp_server_lists_tools_and_refuses_every_call(
    demo_api, open_stdio, tmp_path
) -> None:
    # No license agent and no demo mode: the gateway runs on the Community plan.
    port = free_port()
    env = {
        **demo_api.env,
        "MESHOPTIXIQ_DEMO_MODE": "false",
        "MESHQ_LICENSING_URL": "http://127.0.0.1:9",
        "MESHQ_GRAPH_ENGINE_URL": demo_api.graph_url,
        "MESHQ_GATEWAY_PORT": str(port),
    }
    community = ServiceProc(
        module="meshq_query_gateway", port=port, env=env, log_path=tmp_path / "gw.log"
    ).start()
    try:
        community.wait_healthy()
        async with open_stdio(community.url, demo_api.api_key) as session:
            tools = (await session.list_tools()).tools
            assert {"all_devices", "topology_edges"} <= {t.name for t in tools}
            for name in ("all_devices", "topology_edges", "summary_stats"):
                result = await session.call_tool(name, {})
                assert result.isError
                text = result.content[0].text
                assert "mcp_server" in text and "community" in text, text
            health = json.loads(
                (await session.read_resource("network://health/platform")).contents[0].text
            )
            assert health["license"] == {"known": True, "plan": "community", "mcp_server": False}
    finally:
        community.stop()


async def test_rbac_refusal_is_a_tool_error_with_the_gateways_message(demo_api, open_stdio) -> None:
    async with open_stdio(demo_api.url, demo_api.viewer_key) as session:
        tools = {t.name for t in (await session.list_tools()).tools}
        assert {"all_devices", "topology_edges"} <= tools
        allowed = await session.call_tool("topology_edges", {"limit": 3})
        assert not allowed.isError, allowed.content
        refused = await session.call_tool("all_devices", {})
        assert refused.isError
        text = refused.content[0].text
        assert "403" in text and "all_devices" in text, text
        # The server is still there after a refusal.
        assert not (await session.call_tool("device_neighbors", {"device": "hq-core-01"})).isError
