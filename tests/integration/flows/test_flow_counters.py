"""meshq_flows_interfaces beside the interfaces' counters: flows in a real flow store (chdb),
counter samples through the real metrics store (PostgreSQL) and its rate computation, on the
catalogue's fixture network (hq-core-01 Et1 and Et2 given ifIndexes 1 and 2)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, run_query
from meshq_graph_engine.engine import GraphEngine
from meshq_runtime.graph.store import EmbeddedStore
from meshq_runtime.metrics_store import MetricsStore
from meshq_runtime.postgres import create_pool
from meshq_runtime.settings import PostgresSettings
from network_discovery.metrics import SAMPLE_SCHEMA, compute_rates
from network_discovery.model import Snapshot
from support.flow_store import fresh_store, records
from support.pgdb import fresh_database

NETWORK = Path(__file__).resolve().parents[2] / "fixtures" / "graph" / "network.yaml"
CORE1 = "10.255.0.2"
#: Octets hq-core-01 Ethernet2's counters grow by each minute, in and out.
IN_PER_MINUTE = 1_000
OUT_PER_MINUTE = 45_000
WINDOW_MINUTES = 10


def _snapshot() -> Snapshot:
    data = yaml.safe_load(NETWORK.read_text())
    for interface in data["interfaces"]:
        if interface["device"] == "hq-core-01" and interface["name"] in ("Et1", "Et2"):
            interface["if_index"] = int(interface["name"][2:])
    return Snapshot.model_validate(data)


def _samples(now: datetime) -> pa.Table:
    """A poll of hq-core-01 Ethernet2 every minute from before the window to 5 s ago."""
    polls = WINDOW_MINUTES + 2
    last = now - timedelta(seconds=5)
    rows = [
        {
            "device": "hq-core-01",
            "interface": "Ethernet2",
            "ts": last - timedelta(minutes=polls - 1 - n),
            "uptime_ticks": 100_000 + n * 6000,
            "in_octets": IN_PER_MINUTE * n,
            "out_octets": OUT_PER_MINUTE * n,
            "octets_bits": 64,
            "packets_bits": 64,
            "errors_bits": 32,
            "speed_bps": 10_000_000_000,
            "oper_status": 1,
            "source": "snmp",
        }
        for n in range(polls)
    ]
    return pa.Table.from_pylist(rows, schema=SAMPLE_SCHEMA)


@pytest.fixture(scope="module")
async def ctx(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[QueryContext]:
    graph = EmbeddedStore(tmp_path_factory.mktemp("flowcounters") / "db")
    engine = GraphEngine(graph)
    await engine.start()
    await engine.apply_snapshot(_snapshot())
    flows = fresh_store()
    flows.insert(
        records(
            [
                # in on Et2, out on Et1, and the answer the other way
                {
                    "exporter": CORE1,
                    "proto": 6,
                    "src_addr": "10.10.10.101",
                    "dst_addr": "10.30.0.10",
                    "bytes": 4000,
                    "packets": 40,
                    "input_if": 2,
                    "output_if": 1,
                },
                {
                    "exporter": CORE1,
                    "proto": 6,
                    "src_addr": "10.30.0.10",
                    "dst_addr": "10.10.10.101",
                    "bytes": 90000,
                    "packets": 60,
                    "input_if": 1,
                    "output_if": 2,
                },
            ]
        ),
        time.time() - 30,
        "counters-1",
    )
    async with fresh_database(stack.postgres_url, "meshq_fc") as url:
        pool = await create_pool(PostgresSettings(postgres_url=url))
        try:
            metrics = MetricsStore(pool)
            await metrics.ensure_schema()
            samples = _samples(datetime.now(UTC).replace(microsecond=0))
            await metrics.write_samples(samples)
            await metrics.write_rates(compute_rates(samples, expected_interval_s=60))
            yield QueryContext(graph, engine, metrics=metrics, flows=flows)
        finally:
            await pool.close()
            await graph.close()


async def _interfaces(ctx: QueryContext) -> dict[str, dict[str, Any]]:
    params = {"window": f"{WINDOW_MINUTES}m"}
    rows = (await run_query(REGISTRY, "meshq_flows_interfaces", params, ctx)).rows
    return {r["interface"]: r for r in rows}


async def test_flow_bytes_beside_counter_bytes_and_their_ratio(ctx: QueryContext) -> None:
    rows = await _interfaces(ctx)
    et2 = rows["Ethernet2"]
    assert (et2["in_bytes"], et2["out_bytes"]) == (4000, 90000)
    covered = et2["counter_covered_s"]
    # every rate of the window is one minute of counters
    assert covered is not None and covered % 60 == 0 and covered >= 540
    minutes = covered // 60
    assert et2["counter_in_bytes"] == IN_PER_MINUTE * minutes
    assert et2["counter_out_bytes"] == OUT_PER_MINUTE * minutes
    assert et2["in_ratio"] == round(4000 / (IN_PER_MINUTE * minutes), 4)
    assert et2["out_ratio"] == round(90000 / (OUT_PER_MINUTE * minutes), 4)
    # Et1 has flows and no counters: unknown, not 0
    et1 = rows["Ethernet1"]
    assert (et1["in_bytes"], et1["out_bytes"]) == (90000, 4000)
    assert et1["counter_in_bytes"] is None and et1["in_ratio"] is None
    assert et1["counter_covered_s"] is None


async def test_without_a_metrics_store_the_counters_are_unknown(ctx: QueryContext) -> None:
    bare = QueryContext(ctx.store, ctx.engine, flows=ctx.flows)
    rows = await _interfaces(bare)
    assert rows["Ethernet2"]["in_bytes"] == 4000
    assert all(
        r[k] is None
        for r in rows.values()
        for k in ("counter_in_bytes", "counter_out_bytes", "in_ratio", "out_ratio")
    )
