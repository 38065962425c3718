"""MCP over streamable HTTP: the mcp-bridge service and ``meshq-mcp --transport http``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from meshq_graph_engine.catalogue import REGISTRY
from support.demo_cases import demo_cases
from support.procs import ServiceProc, free_port, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def bridge(demo_api, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProc]:
    port = free_port()
    env = {
        **demo_api.env,
        "MESHQ_MCP_PORT": str(port),
        "MESHOPTIXIQ_API_URL": demo_api.url,
        # The service's own key serves its readiness probe only, never a caller's request.
        "MESHOPTIXIQ_API_KEY": demo_api.api_key,
    }
    env.pop("MESHOPTIXIQ_DEMO_MODE")
    logs = tmp_path_factory.mktemp("bridge")
    proc = ServiceProc(module="meshq_mcp_bridge", port=port, env=env, log_path=logs / "b.log")
    proc.start()
    try:
        proc.wait_healthy()
        yield proc
    finally:
        proc.stop()


@asynccontextmanager
async def http_session(url: str, headers: dict[str, str]) -> AsyncIterator[ClientSession]:
    async with (
        httpx.AsyncClient(headers=headers, timeout=60) as client,
        streamable_http_client(url, http_client=client) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def test_a_call_without_the_callers_credential_is_refused(bridge) -> None:
    response = httpx.post(
        bridge.url + "/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"accept": "application/json, text/event-stream"},
    )
    assert response.status_code == 401
    assert "X-API-Key" in response.json()["detail"]
    assert httpx.get(bridge.url + "/health").status_code == 200


async def test_bridge_serves_tools_resources_and_prompts(demo_api, bridge) -> None:
    headers = {"X-API-Key": demo_api.api_key}
    direct = httpx.post(
        demo_api.url + "/queries/locate_endpoint_by_ip", json={"ip": "10.1.10.20"}, headers=headers
    ).json()
    mac = direct["rows"][0]["mac"]
    async with http_session(bridge.url + "/mcp", headers) as session:
        tools = {t.name for t in (await session.list_tools()).tools}
        assert {"locate_endpoint_by_mac", "update_device_metadata", "bgp_peers"} <= tools
        result = await session.call_tool("locate_endpoint_by_mac", {"mac": mac})
        assert not result.isError
        body = json.loads(result.content[0].text)
        assert body["rows"][0]["device"] == direct["rows"][0]["device"]
        for resource in (await session.list_resources()).resources:
            assert (await session.read_resource(resource.uri)).contents[0].text
        prompt = await session.get_prompt("network_endpoint_hunt", {"address": mac})
        assert mac in prompt.messages[0].content.text


@pytest.mark.parametrize("tool", ["blast_radius_device", "path_analysis"])
async def test_graph_tools_over_http_answer_what_the_gateway_answers(
    demo_api, bridge, tool
) -> None:
    headers = {"X-API-Key": demo_api.api_key}
    schema = REGISTRY[tool].params.model_json_schema()
    async with http_session(bridge.url + "/mcp", headers) as session:
        for args in demo_cases(tool, schema):
            direct = httpx.post(
                f"{demo_api.url}/queries/{tool}", json=args, headers=headers, timeout=60
            ).json()
            result = await session.call_tool(tool, {**args, "limit": 1000})
            assert not result.isError, result.content
            assert result.structuredContent["rows"] == direct["rows"] and direct["rows"]
            assert result.structuredContent["total"] == direct["row_count"]


async def test_bridge_forwards_the_callers_credential(bridge) -> None:
    # The bridge holds a valid key of its own; the caller's wrong one must be what counts.
    async with http_session(bridge.url + "/mcp", {"X-API-Key": "not-a-key"}) as session:
        result = await session.call_tool("summary_stats", {})
        assert result.isError and "401" in result.content[0].text
    async with http_session(bridge.url + "/mcp", {"Authorization": "Bearer x.y.z"}) as session:
        result = await session.call_tool("summary_stats", {})
        assert result.isError and "401" in result.content[0].text


async def test_meshq_mcp_transport_http(demo_api, tmp_path) -> None:
    port = free_port()
    env = {"MESHOPTIXIQ_API_URL": demo_api.url, "PATH": "/usr/bin:/bin"}
    log = (tmp_path / "mcp.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "network_discovery.mcp.server",
            "--transport",
            "http",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: httpx.get(base + "/health").status_code == 200, what="meshq-mcp http")
        assert httpx.post(base + "/mcp", json={}).status_code == 401
        async with http_session(base + "/mcp", {"X-API-Key": demo_api.api_key}) as session:
            result = await session.call_tool("summary_stats", {"fields": ["devices"]})
            assert not result.isError
            assert json.loads(result.content[0].text)["rows"][0]["devices"] > 0
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


async def test_bridge_applies_the_callers_rbac(demo_api, bridge) -> None:
    async with http_session(bridge.url + "/mcp", {"X-API-Key": demo_api.viewer_key}) as session:
        refused = await session.call_tool("all_devices", {})
        assert refused.isError and "403" in refused.content[0].text
        assert not (await session.call_tool("topology_edges", {"limit": 1})).isError
