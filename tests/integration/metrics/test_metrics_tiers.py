"""Windows across the store's tiers: counters polled through the real counter pipeline into
PostgreSQL at three moments (100 days ago, 40 days ago, the last half hour), rolled up, then
the retention of the defaults applied (raw 30 days, 5-minute rollups 90 days). A short window
long ago is read from the finest tier that still holds it; long windows from the hourly and the
daily rollups, with the same time-weighted means as the raw rates gave."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pyarrow as pa
import pytest
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, run_query
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph.store import EmbeddedStore
from meshq_runtime.metrics_store import MetricsSettings, MetricsStore
from meshq_runtime.postgres import create_pool
from meshq_runtime.settings import PostgresSettings
from network_discovery.discovery import Target
from network_discovery.metrics.pipeline import CounterPipeline
from network_discovery.metrics.snmp import PollResult
from support.metrics_samples import samples
from support.pgdb import fresh_database

pytestmark = pytest.mark.integration

STEP = 60
M = 1_000_000
DEVICE, PORT = "edge9", "Ethernet1"


@dataclass(frozen=True)
class Epoch:
    first: datetime
    intervals: int
    in_bps: int

    @property
    def last(self) -> datetime:
        return self.first + timedelta(seconds=STEP * self.intervals)


def _poll(epoch: Epoch, n: int) -> pa.Table:
    octets = 10**12 + n * STEP * epoch.in_bps // 8
    row = {
        "device": "EDGE9",
        "interface": "Et1",  # stored as the graph keys it: Ethernet1
        "if_index": 1,
        "ts": epoch.first + timedelta(seconds=n * STEP),
        "uptime_ticks": 10_000_000 + n * STEP * 100,
        "in_octets": octets,
        "out_octets": 10**12,
        "in_ucast": 10**9,
        "out_ucast": 10**9,
        "speed_bps": 10_000 * M,
    }
    return samples([row])


@dataclass
class Lab:
    store: MetricsStore
    ctx: QueryContext
    old: Epoch  # 100 days ago: only in the hourly and daily rollups
    mid: Epoch  # 40 days ago: in the 5-minute rollups too
    new: Epoch  # the last half hour: every tier

    async def run(self, name: str, **params: Any) -> list[dict[str, Any]]:
        return (await run_query(REGISTRY, name, params, self.ctx)).rows


def _at_ten(days_ago: int, now: datetime) -> datetime:
    """10:00 UTC that many days ago: an hour of polls inside one day."""
    day = (now - timedelta(days=days_ago)).date()
    return datetime.combine(day, time(10), tzinfo=UTC)


@pytest.fixture(scope="module")
async def lab(stack, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Lab]:
    graph = EmbeddedStore(tmp_path_factory.mktemp("tiers-graph") / "db")
    engine = GraphEngine(graph)
    await engine.start()
    now = datetime.now(UTC).replace(microsecond=0)
    epochs = (
        Epoch(_at_ten(100, now), 60, 500 * M),
        Epoch(_at_ten(40, now), 60, 300 * M),
        Epoch(now - timedelta(minutes=31), 30, 100 * M),
    )
    async with fresh_database(stack.postgres_url, "meshq_tiers") as url:
        pool = await create_pool(PostgresSettings(postgres_url=url))
        try:
            # the collector kept everything for a year; then the defaults apply
            keep = MetricsSettings(
                MESHQ_METRICS_RETENTION="400d", MESHQ_METRICS_ROLLUP_5M_RETENTION="400d"
            )
            writer = MetricsStore(pool, keep)
            await writer.ensure_schema()
            for epoch in epochs:
                polls = iter(range(epoch.intervals + 1))

                async def poll(
                    _: Sequence[Target], epoch: Epoch = epoch, polls: Iterator[int] = polls
                ) -> PollResult:
                    return PollResult(samples=_poll(epoch, next(polls)))

                pipeline = CounterPipeline(poll, writer, expected_interval_s=STEP)
                for _ in range(epoch.intervals + 1):
                    await pipeline.run_once([])
                await writer.rollup(epoch.first, epoch.last + timedelta(seconds=1))
            store = MetricsStore(pool)
            dropped = await store.apply_retention()
            assert any(name.startswith("metrics_if_rates_p") for name in dropped)
            assert any(name.startswith("metrics_if_rollup_5m_p") for name in dropped)
            yield Lab(store, QueryContext(graph, engine, metrics=store), *epochs)
        finally:
            await pool.close()
            await graph.close()


async def _summary(lab: Lab, **window: Any) -> dict[str, Any]:
    [row] = await lab.run(
        "interface_metrics", device=DEVICE, interface=PORT, summary=True, **window
    )
    return row


def _around(epoch: Epoch) -> dict[str, str]:
    return {
        "since": (epoch.first - timedelta(minutes=30)).isoformat(),
        "until": (epoch.last + timedelta(minutes=30)).isoformat(),
    }


async def test_a_short_window_long_ago_is_read_from_the_finest_tier_that_holds_it(
    lab: Lab,
) -> None:
    # two hours 40 days ago: raw rates are gone (30 days), the 5-minute rollups are not
    mid = await _summary(lab, **_around(lab.mid))
    assert mid["resolution"] == "5m"
    assert mid["in_bps"] == pytest.approx(300 * M) and mid["samples"] == 60
    # two hours 100 days ago: the 5-minute rollups are gone too (90 days)
    old = await _summary(lab, **_around(lab.old))
    assert old["resolution"] == "1h"
    assert old["in_bps"] == pytest.approx(500 * M) and old["samples"] == 60
    # asked for explicitly, a dropped tier answers nothing rather than a guess
    assert (
        await lab.run(
            "interface_metrics", device=DEVICE, interface=PORT, resolution="raw", **_around(lab.mid)
        )
        == []
    )
    # the recent half hour: raw
    recent = await _summary(lab, window="1h")
    assert recent["resolution"] == "raw" and recent["in_bps"] == pytest.approx(100 * M)


async def test_a_window_across_tiers_weighs_each_part_by_its_time(lab: Lab) -> None:
    # 41 days back to now: hourly rollups, 40 days ago and the last half hour together
    since = (lab.mid.first - timedelta(days=1)).isoformat()
    both = await _summary(lab, since=since)
    assert both["resolution"] == "1h"
    assert both["samples"] == 90 and both["covered_s"] == pytest.approx(90 * STEP)
    assert both["in_bps"] == pytest.approx((60 * 300 + 30 * 100) / 90 * M)
    assert both["in_bps_max"] == pytest.approx(300 * M)

    # 150 days: the daily rollups, all three moments
    days = await lab.run("interface_metrics", device=DEVICE, interface=PORT, window="150d")
    assert {row["resolution"] for row in days} == {"1d"}
    assert sum(row["samples"] for row in days) == 150
    for row in days:
        start = datetime.fromisoformat(row["start"])
        assert (start.hour, start.minute) == (0, 0)
        assert datetime.fromisoformat(row["end"]) - start == timedelta(days=1)
    whole = await _summary(lab, window="150d")
    assert whole["resolution"] == "1d"
    assert whole["in_bps"] == pytest.approx((60 * 500 + 60 * 300 + 30 * 100) / 150 * M)
    assert whole["in_util_max_pct"] == pytest.approx(5.0)  # 500 Mbit/s of 10 Gbit/s


def test_the_tier_for_a_window() -> None:
    store = MetricsStore(None, MetricsSettings())  # no pool: nothing is read
    now = datetime(2026, 12, 1, tzinfo=UTC)
    for since, until, tier in (
        (now - timedelta(hours=6), now, "raw"),
        (now - timedelta(days=7), now, "5m"),
        (now - timedelta(days=90), now, "1h"),
        (now - timedelta(days=91), now, "1d"),
        # short windows past a tier's retention
        (now - timedelta(days=31), now - timedelta(days=31) + timedelta(hours=1), "5m"),
        (now - timedelta(days=91), now - timedelta(days=91) + timedelta(hours=1), "1h"),
        (now - timedelta(days=401), now - timedelta(days=400), "1d"),
        # older than every tier: the coarsest
        (now - timedelta(days=2000), now - timedelta(days=1999), "1d"),
    ):
        assert store.resolution_for(since, until, now=now) == tier, (since, until)
