"""Probe runs recorded in PostgreSQL, the Synthetic queries over them, retention, the
definitions' lifecycle, and the path graph-engine gives a failing probe."""

from __future__ import annotations

import asyncio
import socket
import statistics
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from meshq_prober import queries
from meshq_prober.checks import Outcome, Prober
from meshq_prober.definitions import Limits, parse_probe
from meshq_prober.explain import PathExplainer
from meshq_prober.runner import Runner
from meshq_prober.store import ProbeStore

pytestmark = pytest.mark.integration

LIMITS = Limits(min_interval_s=0.1)


def spec_of(**raw: Any) -> Any:
    return parse_probe(raw, LIMITS)


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP port on loopback that accepts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def prober() -> Any:
    made = Prober()
    yield made
    await made.aclose()


async def ask(store: ProbeStore, name: str, **params: Any) -> list[dict[str, Any]]:
    answer = await queries.run(queries.Context(store=store), name, params, limit=None, offset=0)
    return list(answer["rows"])


async def test_denied_flow_names_the_firewall_rule(graph_client: httpx.AsyncClient) -> None:
    spec = spec_of(name="telnet-out", kind="tcp", host="8.8.8.8", port=23, source="10.10.10.101")
    failed = Outcome(success=False, error="timeout after 5 s", detail={"address": "8.8.8.8"})
    path = await PathExplainer(graph_client).explain(spec, failed)
    assert path["status"] == "known"
    assert path["verdict"] == "denied"
    assert path["flow"] == {
        "source": "10.10.10.101",
        "destination": "8.8.8.8",
        "protocol": "tcp",
        "port": 23,
    }
    assert [h["device"] for h in path["hops"]][-1] == "hq-fw-01"
    stop = path["stopped_at"]
    assert stop["device"] == "hq-fw-01"
    assert stop["decision"]["name"] == "block-telnet"
    assert stop["decision"]["verdict"] == "denied"


async def test_missing_route_names_the_hop(graph_client: httpx.AsyncClient) -> None:
    spec = spec_of(name="mgmt", kind="icmp", host="10.10.10.101", source="10.99.0.50")
    failed = Outcome(success=False, error="no echo reply", detail={"address": "10.10.10.101"})
    path = await PathExplainer(graph_client).explain(spec, failed)
    assert path["verdict"] == "no_path"
    assert path["stopped_at"]["device"] == "hq-border-01"
    assert "no route" in path["stopped_at"]["reason"]


async def test_allowed_flow_has_no_stop(graph_client: httpx.AsyncClient) -> None:
    spec = spec_of(name="web", kind="http", url="https://8.8.8.8/", source="10.10.10.101")
    failed = Outcome(success=False, error="timeout", detail={"address": "8.8.8.8"})
    path = await PathExplainer(graph_client).explain(spec, failed)
    # the graph lets it through: the failure is beyond what the graph knows
    assert (path["verdict"], path["stopped_at"]) == ("allowed", None)
    assert path["flow"]["port"] == 443


async def test_path_unknown_without_graph_or_address() -> None:
    spec = spec_of(name="x", kind="tcp", host="192.0.2.10", port=80)
    path = await PathExplainer(None).explain(
        spec, Outcome(success=False, detail={"address": "192.0.2.10"})
    )
    assert path["status"] == "unknown"
    assert path["reason"] == "no graph-engine configured"
    unresolved = await PathExplainer(None).explain(spec, Outcome(success=False))
    assert unresolved["status"] == "unknown"
    assert "did not resolve" in unresolved["reason"]


async def test_runs_recorded_and_queried(
    probe_store: ProbeStore, prober: Prober, listener: int, graph_client: httpx.AsyncClient
) -> None:
    up = spec_of(name="up", kind="tcp", host="127.0.0.1", port=listener, timeout_s=1)
    down = spec_of(name="down", kind="tcp", host="127.0.0.1", port=closed_port(), timeout_s=1)
    now = datetime.now(UTC)
    await probe_store.replace_file_probes([s.model_dump(mode="json") for s in (up, down)], now)
    runner = Runner(probe_store, prober, PathExplainer(graph_client), LIMITS, retention_s=3600)
    for _ in range(3):
        assert (await runner.run_once(up)).success
    refused = await runner.run_once(down)
    assert not refused.success
    assert refused.error is not None and "ConnectionRefusedError" in refused.error

    rows = {r["name"]: r for r in await ask(probe_store, "meshq_synthetic_probes")}
    assert rows["up"]["state"] == "up"
    assert rows["up"]["target"] == f"127.0.0.1:{listener}"
    assert rows["up"]["origin"] == "file"
    assert set(rows["up"]["last_phases"]) == {"dns", "connect", "total"}
    assert rows["down"]["state"] == "down"
    assert rows["down"]["last_success_at"] is None
    # loopback is not in the graph: graph-engine's answer is kept as it came
    assert rows["down"]["path"]["flow"]["destination"] == "127.0.0.1"
    assert await ask(probe_store, "meshq_synthetic_probes", kind="icmp") == []
    assert (rows["up"]["failures"], rows["down"]["failures"]) == (0, 1)
    assert [r["name"] for r in await ask(probe_store, "meshq_synthetic_probes", state="down")] == [
        "down"
    ]

    results = {r["probe"]: r for r in await ask(probe_store, "meshq_synthetic_results")}
    assert (results["up"]["runs"], results["up"]["success_rate"]) == (3, 1.0)
    assert results["up"]["last_error"] is None
    assert results["down"]["success_rate"] == 0.0
    assert results["down"]["phases"] == {}  # latency comes from successful runs only
    assert results["down"]["last_error"] == refused.error


async def test_percentiles_per_phase(probe_store: ProbeStore) -> None:
    now = datetime.now(UTC)
    connects = [5.0, 1.0, 9.0, 3.0, 7.0, 2.0, 8.0, 4.0, 6.0, 10.0]
    for n, value in enumerate(connects):
        at = now - timedelta(seconds=n)
        phases = {"connect": value, "total": value + 1}
        await probe_store.record("p", at, True, phases, None, None, {}, None)
    await probe_store.record("p", now, False, {"total": 999.0}, None, "boom", {}, None)
    # outside the window: not counted
    await probe_store.record(
        "p", now - timedelta(hours=2), True, {"connect": 500.0}, None, None, {}, None
    )
    (row,) = await ask(probe_store, "meshq_synthetic_results", probe="p", window_s=3600)
    assert (row["runs"], row["successes"], row["success_rate"]) == (11, 10, round(10 / 11, 4))
    assert row["kind"] is None  # results of a probe no longer defined
    q = statistics.quantiles(connects, n=20, method="inclusive")  # 5 % steps
    assert row["phases"]["connect"] == {
        "p50_ms": round(statistics.median(connects), 3),
        "p95_ms": round(q[18], 3),
        "samples": 10,
    }
    assert row["last_error"] == "boom"


async def test_retention_deletes_old_results_only(probe_store: ProbeStore) -> None:
    now = datetime.now(UTC)
    for age_h in (1, 30, 50):
        at = now - timedelta(hours=age_h)
        await probe_store.record("p", at, True, {"total": 1.0}, None, None, {}, None)
    assert await probe_store.expire(now - timedelta(hours=24)) == 2
    (row,) = await ask(probe_store, "meshq_synthetic_results", probe="p", window_s=7 * 86_400)
    assert row["runs"] == 1


async def test_definitions_lifecycle(probe_store: ProbeStore) -> None:
    now = datetime.now(UTC)
    a = spec_of(name="a", kind="icmp", host="192.0.2.1").model_dump(mode="json")
    b = spec_of(name="b", kind="icmp", host="192.0.2.2").model_dump(mode="json")
    await probe_store.replace_file_probes([a], now)
    assert await probe_store.create(a, now, 10) == "exists"
    assert await probe_store.create(b, now, 2) == "created"
    assert await probe_store.create({**b, "name": "c"}, now, 2) == "full"
    assert await probe_store.delete("a") == "file"
    assert await probe_store.delete("nope") == "not_found"
    assert await probe_store.delete("b") == "deleted"
    # the file changed: its probe a is gone, the API's probes stay
    assert await probe_store.create(b, now, 10) == "created"
    await probe_store.replace_file_probes([], now)
    assert [d["name"] for d in await probe_store.definitions()] == ["b"]


async def test_schedule_follows_definitions(
    probe_store: ProbeStore, prober: Prober, listener: int
) -> None:
    spec = spec_of(
        name="tick", kind="tcp", host="127.0.0.1", port=listener, interval_s=0.2, timeout_s=0.2
    )
    runner = Runner(
        probe_store, prober, PathExplainer(None), LIMITS, retention_s=3600, reload_s=0.1
    )
    runner.start()
    try:
        assert await probe_store.create(spec.model_dump(mode="json"), datetime.now(UTC), 10)
        runner.reload()
        rows: list[dict[str, Any]] = []
        async with asyncio.timeout(20):
            while not rows or rows[0]["runs"] < 3:
                await asyncio.sleep(0.05)
                rows = await ask(probe_store, "meshq_synthetic_results", probe="tick")
        assert runner.running == ["tick"]
        assert await probe_store.delete("tick") == "deleted"
        runner.reload()
        async with asyncio.timeout(20):
            while runner.running:
                await asyncio.sleep(0.05)
    finally:
        await runner.stop()


async def test_bad_query_parameters_are_422(probe_store: ProbeStore) -> None:
    from meshq_runtime.http import ProblemError

    with pytest.raises(ProblemError) as caught:
        await ask(probe_store, "meshq_synthetic_results", window_s=5)
    assert caught.value.status == 422


async def test_unknown_path_is_asked_again_known_path_kept(
    probe_store: ProbeStore, prober: Prober, graph_client: httpx.AsyncClient
) -> None:
    spec = spec_of(
        name="telnet", kind="tcp", host="127.0.0.1", port=closed_port(), source="10.10.10.101"
    )
    await probe_store.replace_file_probes([spec.model_dump(mode="json")], datetime.now(UTC))
    away = httpx.AsyncClient(base_url=f"http://127.0.0.1:{closed_port()}")
    runner = Runner(probe_store, prober, PathExplainer(away), LIMITS, retention_s=3600)
    try:
        await runner.run_once(spec)
    finally:
        await away.aclose()
    (row,) = await ask(probe_store, "meshq_synthetic_probes")
    assert row["path"]["status"] == "unknown"
    assert row["path"]["reason"].startswith("graph-engine unreachable")
    # graph-engine back: the next failing run asks again, and that answer is kept
    runner.explainer = PathExplainer(graph_client)
    await runner.run_once(spec)
    runner.explainer = PathExplainer(None)
    await runner.run_once(spec)
    (row,) = await ask(probe_store, "meshq_synthetic_probes")
    assert (row["failures"], row["path"]["status"]) == (3, "known")
    assert row["path"]["flow"] == {
        "source": "10.10.10.101",
        "destination": "127.0.0.1",
        "protocol": "tcp",
        "port": spec.port,
    }
