"""interface_metrics and link_utilization through the catalogue runner: rates written through
the real MetricsStore into PostgreSQL, links from the fixture network in LadybugDB."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, QueryError, run_query
from meshq_graph_engine.catalogue import metrics as metrics_queries
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph.store import EmbeddedStore
from meshq_runtime.metrics_store import MetricsStore
from meshq_runtime.postgres import create_pool
from meshq_runtime.settings import PostgresSettings
from network_discovery.metrics import SAMPLE_SCHEMA, compute_rates
from network_discovery.model import Snapshot
from support.pgdb import fresh_database

pytestmark = pytest.mark.integration

NETWORK = Path(__file__).resolve().parents[2] / "fixtures" / "graph" / "network.yaml"
STEP = 30  # seconds between polls
POLLS = 20

# (device, interface) -> (in bit/s, out bit/s, speed bit/s)
TRAFFIC = {
    # hq-acc-01 Gi1/0/49 -> hq-core-01 Ethernet2: both ends; the core counts 10 Mbit/s less
    ("hq-acc-01", "GigabitEthernet1/0/49"): (100e6, 600e6, 1e9),
    ("hq-core-01", "Ethernet2"): (590e6, 100e6, 10e9),
    # hq-acc-02 Gi1/0/49 -> hq-core-01 Ethernet3: only the core end is measured
    ("hq-core-01", "Ethernet3"): (200e6, 800e6, 1e9),
}
#: Ethernet3 reads down at this poll (a flap: down, then up again at the next)
DOWN_AT = 10
#: hq-core-01 Ethernet2's counters are cleared before this poll (a reset: no rate)
CLEARED_AT = 5


def _samples(first: datetime) -> pa.Table:
    rows = []
    for (device, interface), (rx, tx, speed) in TRAFFIC.items():
        for n in range(POLLS):
            seconds = n * STEP
            base = 0 if (interface == "Ethernet2" and n >= CLEARED_AT) else 10**12
            since_clear = seconds - (CLEARED_AT * STEP if base == 0 else 0)
            rows.append(
                {
                    "device": device,
                    "interface": interface,
                    "if_index": 1,
                    "ts": first + timedelta(seconds=seconds),
                    "uptime_ticks": 10_000_000 + seconds * 100,
                    "in_octets": base + int(rx / 8 * since_clear),
                    "out_octets": base + int(tx / 8 * since_clear),
                    "in_ucast": base + 1000 * since_clear,
                    "out_ucast": base + 2000 * since_clear,
                    "in_errors": 3 * seconds,
                    "out_errors": 0,
                    "in_discards": 0,
                    "out_discards": seconds,
                    "octets_bits": 64,
                    "packets_bits": 64,
                    "errors_bits": 32,
                    "speed_bps": int(speed),
                    "oper_status": 2 if (interface == "Ethernet3" and n == DOWN_AT) else 1,
                    "last_change_ticks": 0,
                    # `clear counters` moves ifCounterDiscontinuityTime
                    "discontinuity_ticks": 5 if base == 0 else 0,
                    "source": "snmp",
                }
            )
    return pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA)


@dataclass
class Lab:
    store: MetricsStore
    graph: EmbeddedStore
    engine: GraphEngine
    now: datetime
    #: the first and the last poll (the last a minute before ``now``)
    first: datetime
    last: datetime

    @property
    def ctx(self) -> QueryContext:
        return QueryContext(self.graph, self.engine, metrics=self.store)

    async def run(self, name: str, **params: Any) -> list[dict[str, Any]]:
        return (await run_query(REGISTRY, name, params, self.ctx)).rows


@pytest.fixture(scope="module")
async def lab(stack, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Lab]:
    graph = EmbeddedStore(tmp_path_factory.mktemp("metrics-graph") / "db")
    engine = GraphEngine(graph)
    await engine.start()
    await engine.apply_snapshot(Snapshot.model_validate(yaml.safe_load(NETWORK.read_text())))
    async with fresh_database(stack.postgres_url, "meshq_mq") as url:
        pool = await create_pool(PostgresSettings(postgres_url=url))
        try:
            store = MetricsStore(pool)
            await store.ensure_schema()
            now = datetime.now(UTC).replace(microsecond=0)
            last = now - timedelta(minutes=1)
            first = last - timedelta(seconds=STEP * (POLLS - 1))
            samples = _samples(first)
            await store.write_samples(samples)
            await store.write_rates(compute_rates(samples, expected_interval_s=STEP))
            await store.rollup(first - timedelta(hours=1), now + timedelta(hours=1))
            yield Lab(store, graph, engine, now, first, last)
        finally:
            await pool.close()
            await graph.close()


def _link(rows: list[dict[str, Any]], a_device: str, a_interface: str) -> dict[str, Any]:
    return next(r for r in rows if (r["a_device"], r["a_interface"]) == (a_device, a_interface))


async def test_link_utilization_ranks_links_by_the_busier_direction(lab: Lab) -> None:
    rows = await lab.run("link_utilization", window="15m", top=100)
    edges = await lab.run("topology_edges")
    assert len(rows) == len(edges) == 11  # every link of the graph, once

    # measured at one end only: the core's out is acc-02's in, 80 % of 1 Gbit/s
    first = rows[0]
    assert (first["a_device"], first["b_device"], first["b_interface"]) == (
        "hq-acc-02",
        "hq-core-01",
        "Ethernet3",
    )
    assert first["measured"] == "b" and first["resolution"] == "raw"
    assert first["a_in_bps"] is None and first["a_out_bps"] is None  # unknown, never 0
    assert first["b_to_a_bps"] == pytest.approx(800e6)
    assert first["a_to_b_bps"] == pytest.approx(200e6)
    assert first["busier"] == "b_to_a"
    assert first["util_pct"] == pytest.approx(80.0)
    assert first["speed_bps"] == 1e9

    # both ends: the larger reading of a -> b, over the lower speed (the 1 Gbit/s end)
    second = rows[1]
    assert (second["a_device"], second["a_interface"]) == ("hq-acc-01", "GigabitEthernet1/0/49")
    assert second["measured"] == "both"
    assert second["a_out_bps"] == pytest.approx(600e6)
    assert second["b_in_bps"] == pytest.approx(590e6)  # the reset interval is left out
    assert second["a_to_b_bps"] == pytest.approx(600e6)
    assert second["b_to_a_bps"] == pytest.approx(100e6)
    assert second["util_pct"] == pytest.approx(60.0)
    assert second["b_to_a_util_pct"] == pytest.approx(10.0)
    assert second["peak_util_pct"] == pytest.approx(60.0)

    # every other link: nothing measured, all unknown, in link order after the measured ones
    rest = rows[2:]
    assert all(r["measured"] == "none" for r in rest)
    assert all(
        r[c] is None
        for r in rest
        for c in ("a_in_bps", "b_out_bps", "util_pct", "busier", "speed_bps", "peak_util_pct")
    )
    keys = [(r["a_device"], r["a_interface"]) for r in rest]
    assert keys == sorted(keys)


async def test_link_utilization_top_and_filters(lab: Lab) -> None:
    top = await lab.run("link_utilization", top=1)
    assert [(r["a_device"], r["util_pct"]) for r in top] == [("hq-acc-02", pytest.approx(80.0))]

    access = await lab.run("link_utilization", role="access", top=100)
    assert len(access) == 6
    assert all("access" in (r["a_role"], r["b_role"]) for r in access)
    assert [r["measured"] for r in access[:2]] == ["b", "both"]

    dc1 = await lab.run("link_utilization", site="dc1")
    assert [(r["a_device"], r["b_device"], r["measured"]) for r in dc1] == [
        ("dc1-leaf-01", "hq-core-01", "none")
    ]

    # a window before any poll: every link unknown
    before = lab.first - timedelta(hours=2)
    old = await lab.run(
        "link_utilization",
        since=before.isoformat(),
        until=(before + timedelta(minutes=30)).isoformat(),
        top=100,
    )
    assert len(old) == 11 and {r["measured"] for r in old} == {"none"}


async def test_interface_metrics_raw_series(lab: Lab) -> None:
    rows = await lab.run("interface_metrics", device="HQ-CORE-01", window="15m")
    assert {r["interface"] for r in rows} == {"Ethernet2", "Ethernet3"}
    assert {r["resolution"] for r in rows} == {"raw"}
    et3 = [r for r in rows if r["interface"] == "Ethernet3"]
    assert len(et3) == POLLS - 1
    assert [r["start"] for r in et3] == sorted(r["start"] for r in et3)
    for row in et3:
        assert row["covered_s"] == pytest.approx(STEP)
        assert row["in_bps"] == pytest.approx(200e6)
        assert row["out_bps"] == pytest.approx(800e6)
        assert row["in_pps"] == pytest.approx(1000)
        assert row["in_errors_ps"] == pytest.approx(3)
        assert row["out_discards_ps"] == pytest.approx(1)
        assert row["out_util_pct"] == pytest.approx(80.0)
        assert row["speed_bps"] == 1e9
    # the flap: down at one poll, up at the next
    assert [r["oper_status"] for r in et3].count("down") == 1
    assert sum(r["status_changes"] for r in et3) == 2
    assert et3[-1]["end"] == lab.last.isoformat().replace("+00:00", "Z")

    # the cleared counters: one interval without rates, flagged
    et2 = await lab.run("interface_metrics", device="hq-core-01", interface="Et2", window="15m")
    assert {r["interface"] for r in et2} == {"Ethernet2"}
    reset = [r for r in et2 if "reset" in r["flags"]]
    assert len(reset) == 1 and reset[0]["in_bps"] is None and reset[0]["in_util_pct"] is None
    assert all(r["in_bps"] == pytest.approx(590e6) for r in et2 if r is not reset[0])


async def test_interface_metrics_summary_and_rollups(lab: Lab) -> None:
    summary = await lab.run("interface_metrics", device="hq-core-01", window="15m", summary=True)
    assert [r["interface"] for r in summary] == ["Ethernet2", "Ethernet3"]
    et2, et3 = summary
    assert et2["in_bps"] == pytest.approx(590e6)  # the reset interval has no rate to weigh
    assert et2["flags"] == ["reset"]
    assert et3["samples"] == POLLS - 1 and et3["covered_s"] == pytest.approx(STEP * (POLLS - 1))
    assert et3["status_changes"] == 2 and et3["out_util_max_pct"] == pytest.approx(80.0)
    assert et3["oper_status"] is None

    # the 5-minute rollups: buckets on 5-minute boundaries, the same means
    since = (lab.first - timedelta(minutes=10)).isoformat()
    until = (lab.now + timedelta(minutes=10)).isoformat()
    buckets = await lab.run(
        "interface_metrics",
        device="hq-core-01",
        interface="Ethernet3",
        since=since,
        until=until,
        resolution="5m",
    )
    assert buckets and {r["resolution"] for r in buckets} == {"5m"}
    assert sum(r["samples"] for r in buckets) == POLLS - 1
    for row in buckets:
        start = datetime.fromisoformat(row["start"])
        assert start.minute % 5 == 0 and start.second == 0
        assert datetime.fromisoformat(row["end"]) - start == timedelta(minutes=5)
        assert row["in_bps"] == pytest.approx(200e6) and row["oper_status"] is None
    assert sum(r["status_changes"] for r in buckets) == 2

    # a long window is read from the hourly rollups, and says so
    week = await lab.run("interface_metrics", device="hq-core-01", window="8d", summary=True)
    assert {r["resolution"] for r in week} == {"1h"}
    assert week[1]["out_bps"] == pytest.approx(800e6)
    day = await lab.run("link_utilization", window="24h", top=2)
    assert {r["resolution"] for r in day} == {"5m"}
    assert day[0]["util_pct"] == pytest.approx(80.0)


async def test_interface_metrics_bounds(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    assert await lab.run("interface_metrics", device="no-such-device", window="1h") == []
    monkeypatch.setattr(metrics_queries, "MAX_POINTS", 10)
    with pytest.raises(QueryError) as raised:
        await lab.run("interface_metrics", device="hq-core-01", window="15m")
    assert raised.value.status == 422 and "summary=true" in raised.value.detail
    future = (lab.now + timedelta(days=1)).isoformat()
    with pytest.raises(QueryError) as raised:
        await lab.run("interface_metrics", device="hq-core-01", since=future)
    assert raised.value.status == 422


async def test_an_unreachable_store_is_503(lab: Lab, tmp_path: Path) -> None:
    pool = await create_pool(
        PostgresSettings(postgres_url="postgresql://postgres@127.0.0.1:9/none")
    )
    try:
        ctx = QueryContext(lab.graph, lab.engine, metrics=MetricsStore(pool))
        for name, params in (
            ("interface_metrics", {"device": "hq-core-01"}),
            ("link_utilization", {}),
        ):
            with pytest.raises(QueryError) as raised:
                await run_query(REGISTRY, name, params, ctx)
            assert raised.value.status == 503, raised.value.detail
            assert "did not answer" in raised.value.detail
    finally:
        await pool.close()
    without = QueryContext(lab.graph, lab.engine)
    with pytest.raises(QueryError) as raised:
        await run_query(REGISTRY, "link_utilization", {}, without)
    assert raised.value.status == 503 and "MESHQ_POSTGRES_URL" in raised.value.detail
