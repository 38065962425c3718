"""The Metrics queries as a client sees them: listed by the gateway (REST and OpenAPI) and the
MCP server with their category and gate, and answered from PostgreSQL through graph-engine."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from meshq_runtime.metrics_store import MetricsStore
from meshq_runtime.postgres import create_pool
from meshq_runtime.settings import PostgresSettings
from network_discovery.metrics import SAMPLE_SCHEMA, compute_rates
from support.demo_stack import DemoStack, demo_stack
from support.pgdb import fresh_database_sync

pytestmark = pytest.mark.integration

KEY = "metrics-served-test-key-0123456789"
NAMES = ("interface_metrics", "link_utilization")


@pytest.fixture(scope="module")
def served(stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoStack, str]]:
    tmp = tmp_path_factory.mktemp("metrics-served")
    with (
        fresh_database_sync(stack.postgres_url, "meshq_ms") as url,
        demo_stack(
            stack, tmp, MESHOPTIXIQ_DEMO_MODE="true", API_KEY=KEY, MESHQ_POSTGRES_URL=url
        ) as running,
    ):
        yield running, url


def _call(running: DemoStack, method: str, path: str, body: Any = None) -> httpx.Response:
    return httpx.request(
        method, running.gateway.url + path, json=body, headers={"X-API-Key": KEY}, timeout=30
    )


async def _write_rates(url: str, device: str, interface: str, out_bps: float) -> None:
    """Ten polls of one interface a minute apart, through the real store."""
    pool = await create_pool(PostgresSettings(postgres_url=url))
    try:
        store = MetricsStore(pool)
        await store.ensure_schema()
        last = datetime.now(UTC) - timedelta(seconds=30)
        rows = [
            {
                "device": device,
                "interface": interface,
                "ts": last - timedelta(minutes=9 - n),
                "uptime_ticks": 100_000 + n * 6000,
                "in_octets": 0,
                "out_octets": int(out_bps / 8 * 60 * n),
                "octets_bits": 64,
                "packets_bits": 64,
                "errors_bits": 32,
                "speed_bps": 10_000_000_000,
                "oper_status": 1,
                "source": "snmp",
            }
            for n in range(10)
        ]
        samples = pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA)
        await store.write_samples(samples)
        await store.write_rates(compute_rates(samples, expected_interval_s=60))
    finally:
        await pool.close()


def test_the_gateway_lists_and_answers_the_metrics_queries(served) -> None:
    running, url = served
    listed = {q["name"]: q for q in _call(running, "GET", "/queries").json()}
    for name in NAMES:
        assert listed[name]["category"] == "Metrics"
        assert listed[name]["feature"] == "server_metrics"
        assert listed[name]["writes"] is False
    spec = _call(running, "GET", "/schema/openapi.json").json()
    assert {f"/queries/{n}" for n in NAMES} <= set(spec["paths"])

    edges = _call(running, "POST", "/queries/topology_edges", {}).json()["rows"]
    link = edges[0]
    before = _call(running, "POST", "/queries/link_utilization", {"top": 10_000})
    assert before.status_code == 200, before.text
    assert len(before.json()["rows"]) == len(edges)
    assert {r["measured"] for r in before.json()["rows"]} == {"none"}

    # rates arrive: the same question answers them at once (never a cached answer)
    asyncio.run(_write_rates(url, link["a_device"], link["a_interface"], 4e9))
    after = _call(running, "POST", "/queries/link_utilization", {"top": 1}).json()
    assert [(r["a_device"], r["a_interface"]) for r in after["rows"]] == [
        (link["a_device"], link["a_interface"])
    ]
    row = after["rows"][0]
    assert row["measured"] == "a" and row["busier"] == "a_to_b"
    assert row["a_to_b_bps"] == pytest.approx(4e9)
    assert row["util_pct"] == pytest.approx(40.0)
    assert row["b_in_bps"] is None
    series = _call(
        running,
        "GET",
        f"/queries/interface_metrics?device={link['a_device']}&interface={link['a_interface']}"
        "&window=15m",
    )
    assert series.status_code == 200, series.text
    assert len(series.json()["rows"]) == 9
    assert {r["resolution"] for r in series.json()["rows"]} == {"raw"}

    bad = _call(running, "POST", "/queries/interface_metrics", {"device": "x", "window": "5y"})
    assert bad.status_code == 422 and "window" in bad.text


async def test_the_mcp_server_serves_them_as_tools(served) -> None:
    running, _ = served
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "network_discovery.mcp.server"],
        env={"MESHOPTIXIQ_API_URL": running.gateway.url, "MESHOPTIXIQ_API_KEY": KEY},
        cwd=str(Path.cwd()),
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = {t.name: t for t in (await session.list_tools()).tools}
        for name in NAMES:
            assert tools[name].annotations.readOnlyHint is True
            assert "window" in tools[name].inputSchema["properties"]
        result = await session.call_tool("link_utilization", {"top": 3})
        assert not result.isError, result.content
        answer = result.structuredContent
        assert answer is not None and answer["query"] == "link_utilization"
        assert len(answer["rows"]) == 3
