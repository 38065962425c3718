"""Blast radius's traffic at risk: counters polled through the real counter pipeline into the
real PostgreSQL store, the catalogue's fixture network in LadybugDB, and chaos-simulate through
graph-engine's own route.

hq-acc-01 has two uplinks: GigabitEthernet1/0/49 to hq-core-01 and GigabitEthernet1/0/50 to
hq-core-02 (both 1 Gbit/s). Gi1/0/49 sent 200 Mbit/s until 20 minutes ago and 600 Mbit/s since;
Gi1/0/50 sends 450 Mbit/s throughout. The core ends of Gi1/0/49 are measured too (and count a
little less); nothing else in the network is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
import yaml
from meshq_graph_engine.blast import load_topology, resolve, simulate
from meshq_graph_engine.blast._traffic import traffic_at_risk
from meshq_graph_engine.controllers import ROUTES
from meshq_graph_engine.deps import GraphDeps, ReaderDeps
from meshq_graph_engine.engine import GraphEngine
from meshq_graph_engine.reader import GraphReader
from meshq_runtime.graph.store import EmbeddedStore
from meshq_runtime.http import ServiceState, build_app
from meshq_runtime.metrics_store import MetricsStore
from meshq_runtime.postgres import create_pool
from meshq_runtime.settings import PostgresSettings
from network_discovery.discovery import Target
from network_discovery.metrics.pipeline import CounterPipeline
from network_discovery.metrics.snmp import PollResult
from network_discovery.model import Snapshot
from support.metrics_samples import samples
from support.pgdb import fresh_database

pytestmark = pytest.mark.integration

NETWORK = Path(__file__).resolve().parents[2] / "fixtures" / "graph" / "network.yaml"
STEP = 60
POLLS = 41  # 40 minutes of intervals
SWITCH_AT = 20  # the interval from which Gi1/0/49 carries more
M = 1_000_000
G = 1_000_000_000

#: (device as the agent names it, interface as the agent spells it) ->
#:   (in bit/s before, out bit/s before, in after, out after, speed)
TRAFFIC = {
    ("HQ-ACC-01", "Gi1/0/49"): (100 * M, 200 * M, 100 * M, 600 * M, G),
    ("hq-core-01", "Et2"): (190 * M, 100 * M, 590 * M, 100 * M, 10 * G),
    ("hq-acc-01", "Gi1/0/50"): (50 * M, 450 * M, 50 * M, 450 * M, G),
}


def _counter(rate_before: int, rate_after: int, n: int) -> int:
    """Octets after ``n`` intervals: bytes at the first rate, then at the second."""
    before = min(n, SWITCH_AT) * STEP * rate_before // 8
    after = max(0, n - SWITCH_AT) * STEP * rate_after // 8
    return 10**12 + before + after


def _poll(first: datetime, n: int) -> pa.Table:
    rows = []
    for (device, interface), (rx0, tx0, rx1, tx1, speed) in TRAFFIC.items():
        rows.append(
            {
                "device": device,
                "interface": interface,
                "if_index": 1,
                "ts": first + timedelta(seconds=n * STEP),
                "uptime_ticks": 10_000_000 + n * STEP * 100,
                "in_octets": _counter(rx0, rx1, n),
                "out_octets": _counter(tx0, tx1, n),
                "in_ucast": 10**9 + n * 1000,
                "out_ucast": 10**9 + n * 1000,
                "speed_bps": speed,
            }
        )
    return samples(rows)


@dataclass
class Lab:
    store: MetricsStore
    graph: EmbeddedStore
    engine: GraphEngine
    client: httpx.AsyncClient
    first: datetime

    async def chaos(self, scenario: str, target: str, **extra: Any) -> dict[str, Any]:
        body = {"scenario_type": scenario, "target": target, **extra}
        answer = await self.client.post("/internal/graph/chaos-simulate", json=body)
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def direct(self, scenario: str, target: str, **kw: Any) -> dict[str, Any]:
        topology = await load_topology(self.graph, self.engine)
        failure = await resolve(topology, self.graph, scenario, target, self.engine)
        return await traffic_at_risk(topology, simulate(topology, failure, 3), **kw)


async def _client(graph: EmbeddedStore, metrics: MetricsStore | None) -> httpx.AsyncClient:
    """graph-engine's routes in this event loop (the pool's), without a server."""
    reader = GraphReader(graph)
    await reader.refresh()
    state: ServiceState[GraphDeps] = ServiceState(service="graph-engine")
    writer = httpx.AsyncClient(base_url="http://writer.invalid")  # reads never reach it
    state.deps = ReaderDeps(store=graph, engine=reader, writer=writer, metrics=metrics)
    app = build_app(service="graph-engine", route_handlers=ROUTES, state=state)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://graph")


@pytest.fixture(scope="module")
async def lab(stack, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Lab]:
    graph = EmbeddedStore(tmp_path_factory.mktemp("traffic-graph") / "db")
    engine = GraphEngine(graph)
    await engine.start()
    await engine.apply_snapshot(Snapshot.model_validate(yaml.safe_load(NETWORK.read_text())))
    async with fresh_database(stack.postgres_url, "meshq_tr") as url:
        pool = await create_pool(PostgresSettings(postgres_url=url))
        try:
            store = MetricsStore(pool)
            await store.ensure_schema()
            last = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
            first = last - timedelta(seconds=STEP * (POLLS - 1))
            polls = iter(range(POLLS))

            async def poll(_targets: Sequence[Target]) -> PollResult:
                return PollResult(samples=_poll(first, next(polls)))

            pipeline = CounterPipeline(poll, store, expected_interval_s=STEP)
            for _ in range(POLLS):
                await pipeline.run_once([])
            async with await _client(graph, store) as client:
                yield Lab(store, graph, engine, client, first)
        finally:
            await pool.close()
            await graph.close()


def _device(answer: dict[str, Any], device: str) -> dict[str, Any]:
    (row,) = [row for row in answer["devices"] if row["device"] == device]
    return row


def _link(answer: dict[str, Any], device: str, interface: str) -> dict[str, Any]:
    (row,) = [
        row
        for row in answer["links"]
        if (device, interface)
        in {(row["a_device"], row["a_interface"]), (row["b_device"], row["b_interface"])}
    ]
    return row


async def test_a_core_failure_moves_more_than_the_surviving_uplink_can_take(lab: Lab) -> None:
    answer = await lab.chaos("device_failure", "hq-core-01")
    assert "hq-acc-01" in answer["degraded_devices"]
    traffic = answer["traffic_at_risk"]
    assert traffic["window"]["resolution"] == "raw"
    # every cable of hq-core-01 is removed; only the one to hq-acc-01 was measured
    assert traffic["removed_links"] == 5 and traffic["removed_links_unknown"] == 4
    assert traffic["status"] == "partial" and traffic["removed_bps"] is None
    measured = _link(traffic, "hq-acc-01", "GigabitEthernet1/0/49")
    assert measured["measured"] == "both" and measured["speed_bps"] == G
    # the access end counted 600 Mbit/s out, the core 590 in: the larger reading
    toward_core = (
        measured["a_to_b_bps"] if measured["a_device"] == "hq-acc-01" else measured["b_to_a_bps"]
    )
    assert toward_core == pytest.approx(600 * M)
    assert measured["load_bps"] == pytest.approx(700 * M)
    assert traffic["removed_bps_known"] == pytest.approx(700 * M)
    leaf = _link(traffic, "dc1-leaf-01", "xe-0/0/48")
    assert leaf["measured"] == "none" and leaf["load_bps"] is None
    assert leaf["a_to_b_bps"] is None and "no samples" in leaf["reason"]

    acc = _device(traffic, "hq-acc-01")
    assert [u["interface"] for u in acc["lost"]] == ["GigabitEthernet1/0/49"]
    assert [(u["interface"], u["neighbor"]) for u in acc["left"]] == [
        ("GigabitEthernet1/0/50", "hq-core-02")
    ]
    assert acc["moved_out_bps"] == pytest.approx(600 * M)
    assert acc["room_out_bps"] == pytest.approx(550 * M)
    assert acc["moved_in_bps"] == pytest.approx(100 * M)
    assert acc["room_in_bps"] == pytest.approx(950 * M)
    assert acc["verdict"] == "short" and acc["short_by_bps"] == pytest.approx(50 * M)
    assert traffic["devices_short"] == 1
    # hq-acc-02 lost its only uplink: affected, not degraded, so no verdict of its own
    assert "hq-acc-02" in answer["affected_devices"]
    assert all(row["device"] != "hq-acc-02" for row in traffic["devices"])


async def test_over_the_last_hour_the_same_failure_is_carried(lab: Lab) -> None:
    traffic = (await lab.chaos("device_failure", "hq-core-01", traffic_window="1h"))[
        "traffic_at_risk"
    ]
    acc = _device(traffic, "hq-acc-01")
    # 20 intervals at 200 Mbit/s and 20 at 600: 400 on average, under the 550 left
    assert acc["moved_out_bps"] == pytest.approx(400 * M, rel=0.01)
    assert acc["verdict"] == "carried" and acc["short_by_bps"] is None


async def test_a_link_failure_checks_the_other_uplink(lab: Lab) -> None:
    answer = await lab.chaos("link_failure", "hq-acc-01:Gi1/0/50")
    traffic = answer["traffic_at_risk"]
    assert traffic["status"] == "measured" and traffic["removed_links"] == 1
    # measured at one end only (hq-core-02 Et2 is not polled): still known
    assert traffic["links"][0]["measured"] in {"a", "b"}
    assert traffic["removed_bps"] == pytest.approx(500 * M)
    acc = _device(traffic, "hq-acc-01")
    assert acc["moved_out_bps"] == pytest.approx(450 * M)
    assert acc["room_out_bps"] == pytest.approx(400 * M)
    assert acc["verdict"] == "short" and acc["short_by_bps"] == pytest.approx(50 * M)


async def test_no_samples_in_the_window_is_unknown_never_zero(lab: Lab) -> None:
    before = lab.first - timedelta(hours=2)
    traffic = await lab.direct("device_failure", "hq-core-01", metrics=lab.store, now=before)
    assert traffic["status"] == "unknown"
    assert traffic["removed_bps"] is None and traffic["removed_links_unknown"] == 5
    acc = _device(traffic, "hq-acc-01")
    assert acc["verdict"] == "unknown" and acc["moved_out_bps"] is None
    assert "no samples in the window" in acc["reason"]


async def test_without_a_store_or_with_it_down_the_answer_says_so(lab: Lab, stack) -> None:
    async with await _client(lab.graph, None) as client:
        answer = await client.post(
            "/internal/graph/chaos-simulate",
            json={"scenario_type": "device_failure", "target": "hq-core-01"},
        )
    assert answer.status_code == 200, answer.text
    traffic = answer.json()["traffic_at_risk"]
    assert traffic["status"] == "unknown" and "MESHQ_POSTGRES_URL" in traffic["reason"]
    assert "devices" not in traffic

    pool = await create_pool(PostgresSettings(postgres_url=stack.postgres_url))
    await pool.close()
    down = await lab.direct("device_failure", "hq-core-01", metrics=MetricsStore(pool))
    assert down["status"] == "unknown" and "did not answer" in down["reason"]


async def test_the_window_is_bounded(lab: Lab) -> None:
    for window in ("1831d", "0m", "15 minutes", "x" * 9):
        answer = await lab.client.post(
            "/internal/graph/chaos-simulate",
            json={
                "scenario_type": "device_failure",
                "target": "hq-core-01",
                "traffic_window": window,
            },
        )
        assert answer.status_code == 422, window
        assert answer.json()["errors"][0]["field"] == "traffic_window"
