"""The whole path: snmpsim -> SNMP poller -> rates -> PostgreSQL, and a restarted pipeline
that picks up from the stored samples without losing an interval."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from meshq_runtime.metrics_store import MIGRATIONS, MetricsStore
from meshq_runtime.postgres import apply_schema, create_pool
from meshq_runtime.settings import PostgresSettings
from network_discovery.discovery import Credentials, SecretRef, Target
from network_discovery.metrics import FLAG_RESET
from network_discovery.metrics.pipeline import CounterPipeline
from network_discovery.metrics.snmp import SnmpCounterPoller
from support.metrics_lab import ADDRESS, COMMUNITY, Agent

pytestmark = pytest.mark.integration


async def test_poll_rate_store_and_resume(stack, counters_agent: Agent) -> None:
    target = Target(
        address=ADDRESS,
        port=counters_agent.port,
        transport="snmp",
        credentials=Credentials(name="lab", snmp_community=SecretRef(env="C")),
    )
    pool = await create_pool(PostgresSettings(postgres_url=stack.postgres_url))
    try:
        await apply_schema(pool, (("metrics", MIGRATIONS),))
        store = MetricsStore(pool)
        started = datetime.now(UTC)
        with SnmpCounterPoller(timeout=2.0, environ={"C": COMMUNITY}) as poller:
            first = CounterPipeline(poller.poll, store, expected_interval_s=1.0)
            rounds = []
            for _ in range(3):
                rounds.append(await first.run_once([target]))
                await asyncio.sleep(1.0)
            # a new pipeline (a restarted service) starts from what the store holds
            second = CounterPipeline(poller.poll, store, expected_interval_s=1.0)
            rounds.append(await second.run_once([target]))

        assert [r.rates.num_rows for r in rounds] == [0, 3, 3, 3]
        _, stored = await store.read_rates(
            "edge1", started - timedelta(minutes=1), datetime.now(UTC), interface="Ethernet1"
        )
        assert len(stored) == 3
        # each sample's time is known to within its reading's spread
        spreads = {
            r.poll.samples.column("ts")[0].as_py(): r.poll.read_spread_s[ADDRESS] for r in rounds
        }
        times = sorted(spreads)
        for row in stored:
            assert not row["flags"] & FLAG_RESET
            end = times.index(row["ts"])
            uncertain = (spreads[times[end - 1]] + spreads[times[end]]) / 2 / row["interval_s"]
            # 250 MB/s in the recording: 2 Gbit/s, 20 % of 10 Gbit/s
            assert row["in_bps"] == pytest.approx(2e9, rel=0.02 + uncertain)
            assert row["in_util_pct"] == pytest.approx(20.0, rel=0.02 + uncertain)
        assert (await store.latest_samples()).num_rows == 3
    finally:
        await pool.close()
