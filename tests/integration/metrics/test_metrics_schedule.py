"""The scheduled collector end to end: ``meshq metrics run`` polls snmpsim (counters that
advance) from a discovery inventory into PostgreSQL, rolls the rates up, and the catalogue's
Metrics queries answer what the agent's recording says; a schedule stops when asked."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, run_query
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph.store import EmbeddedStore
from meshq_runtime.metrics_store import MetricsStore
from meshq_runtime.postgres import create_pool
from meshq_runtime.settings import PostgresSettings
from network_discovery.cli.main import cli
from network_discovery.metrics.schedule import MetricsSchedule
from network_discovery.model import Snapshot
from support.metrics_lab import ADDRESS, COMMUNITY, Agent
from support.pgdb import fresh_database_sync

pytestmark = pytest.mark.integration

#: edge1's Ethernet1 in the recording: 250 MB/s in, 125 MB/s out, 10 Gbit/s
IN_BPS, OUT_BPS = 2e9, 1e9


def _inventory(path: Path, port: int) -> Path:
    path.write_text(
        "credentials:\n"
        "  lab: {snmp_community_env: METRICS_LAB_COMMUNITY}\n"
        "  ssh: {username: netops, password_env: METRICS_LAB_SSH}\n"
        "hosts:\n"
        f"  edge1: {{address: {ADDRESS}, port: {port}, transport: snmp, credentials: lab}}\n"
        # SSH only, no SNMP secrets: never polled (nothing listens there)
        "  acc9: {address: 127.0.0.32, platform: cisco_ios, credentials: ssh}\n"
    )
    return path


def _graph_snapshot() -> Snapshot:
    """edge1's Et1 cabled to core9's Ethernet7 (names as a neighbour table prints them)."""
    return Snapshot.model_validate(
        {
            "snapshot_id": "metrics-schedule-1",
            "source": "test",
            "collected_at": "2026-03-01T08:00:00Z",
            "scope": [
                {"device": "edge1", "facts": ["device", "interfaces", "links"]},
                {"device": "core9", "facts": ["device", "interfaces", "links"]},
            ],
            "devices": [
                {"hostname": "EDGE1", "role": "edge", "site": "lab"},
                {"hostname": "core9", "role": "core", "site": "lab"},
            ],
            "interfaces": [
                {"device": "edge1", "name": "Et1", "oper_status": "up"},
                {"device": "core9", "name": "Ethernet7", "oper_status": "up"},
            ],
            "links": [
                {
                    "a": {"device": "core9", "interface": "Ethernet7"},
                    "b": {"device": "edge1", "interface": "Et1"},
                    "evidence": "lldp_both",
                }
            ],
        }
    )


@pytest.fixture
def metrics_db(stack) -> Iterator[str]:
    with fresh_database_sync(stack.postgres_url, "meshq_msch") as url:
        yield url


async def _ask(url: str, graph_dir: Path) -> dict[str, Any]:
    graph = EmbeddedStore(graph_dir / "db")
    pool = await create_pool(PostgresSettings(postgres_url=url))
    try:
        engine = GraphEngine(graph)
        await engine.start()
        await engine.apply_snapshot(_graph_snapshot())
        ctx = QueryContext(graph, engine, metrics=MetricsStore(pool))
        now = datetime.now(UTC)
        answers = {}
        for key, name, params in (
            ("raw", "interface_metrics", {"device": "edge1", "window": "15m"}),
            (
                "5m",
                "interface_metrics",
                {
                    "device": "edge1",
                    "interface": "Et1",
                    "since": (now - timedelta(hours=1)).isoformat(),
                    "until": (now + timedelta(minutes=10)).isoformat(),
                    "resolution": "5m",
                },
            ),
            ("links", "link_utilization", {"window": "15m"}),
        ):
            answers[key] = (await run_query(REGISTRY, name, params, ctx)).rows
        return answers
    finally:
        await pool.close()
        await graph.close()


def test_meshq_metrics_run_poll_store_query(
    counters_agent: Agent, metrics_db: str, tmp_path: Path
) -> None:
    inventory = _inventory(tmp_path / "inventory.yaml", counters_agent.port)
    result = CliRunner().invoke(
        cli,
        ["metrics", "run", "--inventory", str(inventory), "--rounds", "4"],
        env={
            "MESHQ_POSTGRES_URL": metrics_db,
            "METRICS_LAB_COMMUNITY": COMMUNITY,
            "MESHQ_METRICS_INTERVAL": "3",
            "MESHQ_METRICS_ROLLUP_INTERVAL": "1",
            "MESHQ_METRICS_TIMEOUT": "2",
        },
    )
    assert result.exit_code == 0, result.output
    assert "4 rounds stored, 0 failed" in result.output

    answers = asyncio.run(_ask(metrics_db, tmp_path / "graph"))
    raw = answers["raw"]
    assert {r["interface"] for r in raw} == {"Ethernet1", "Ethernet2", "Ethernet3"}
    et1 = [r for r in raw if r["interface"] == "Ethernet1"]
    assert len(et1) == 3 and {r["resolution"] for r in et1} == {"raw"}
    for row in et1:
        # a sample's moment is known to within the time its walk takes (tens of ms, more on a
        # busy machine), over 3-second intervals
        assert row["in_bps"] == pytest.approx(IN_BPS, rel=0.1)
        assert row["out_bps"] == pytest.approx(OUT_BPS, rel=0.1)
        assert row["in_util_pct"] == pytest.approx(20.0, rel=0.1)
        assert row["oper_status"] == "up"
    assert {r["oper_status"] for r in raw if r["interface"] == "Ethernet3"} == {"down"}

    # the schedule rolled the rates up: the 5-minute buckets hold every interval
    buckets = answers["5m"]
    assert buckets and {r["resolution"] for r in buckets} == {"5m"}
    assert sum(r["samples"] for r in buckets) == 3
    assert all(r["in_bps"] == pytest.approx(IN_BPS, rel=0.1) for r in buckets)

    # the polled port joins its link in the graph (Et1 there, Ethernet1 in SNMP)
    (link,) = answers["links"]
    edge = "a" if link["a_device"] == "edge1" else "b"
    far = "b" if edge == "a" else "a"
    assert link[f"{edge}_interface"] == "Ethernet1" and link["measured"] == edge
    assert link[f"{far}_to_{edge}_bps"] == pytest.approx(IN_BPS, rel=0.1)
    assert link[f"{edge}_to_{far}_bps"] == pytest.approx(OUT_BPS, rel=0.1)
    assert link["busier"] == f"{far}_to_{edge}"
    assert link["util_pct"] == pytest.approx(20.0, rel=0.1)
    assert link[f"{far}_in_bps"] is None


async def test_a_schedule_stops_when_asked(
    counters_agent: Agent, metrics_db: str, tmp_path: Path
) -> None:
    inventory = _inventory(tmp_path / "inventory.yaml", counters_agent.port)
    pool = await create_pool(PostgresSettings(postgres_url=metrics_db))
    try:
        store = MetricsStore(pool)
        await store.ensure_schema()
        schedule = MetricsSchedule(
            inventory=inventory,
            store=store,
            interval_s=1.0,
            timeout=2.0,
            environ={"METRICS_LAB_COMMUNITY": COMMUNITY},
        )
        assert [t.label for t in await schedule.targets()] == ["edge1"]
        stop = asyncio.Event()
        task = asyncio.create_task(schedule.run(stop))
        for _ in range(200):  # two rounds (each a walk of the agent), then stop it
            if schedule.rounds >= 2:
                break
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.wait_for(task, timeout=15)
        assert schedule.rounds >= 2 and schedule.failures == 0
        assert schedule.last_round is not None and schedule.last_round.rates.num_rows == 3
        assert (await store.latest_samples()).num_rows == 3
    finally:
        await pool.close()
