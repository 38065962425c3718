"""The answer cache through real gateway pods, graph-engine, broker and Redis: a second call is
a hit (audited ``cached: true``) and is shared by another pod; a change to the graph (a write
through the gateway, a snapshot) moves the revision and no pod serves the older answer after
it; RBAC refuses a cached answer to whoever may not run the query; writes are never cached; a
hung Redis costs a bounded wait and the answers come from graph-engine meanwhile."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway_support import ADMIN_KEY, make_key, problem, publish_license
from network_discovery.contracts import topics
from network_discovery.contracts.events import ADAPTERS, AuditRequestEvent
from network_discovery.demo import load_snapshot
from redis.asyncio import Redis
from support.kafka import collect
from support.redis_server import PausableRedis, redis_server_available
from support.submit import submit

pytestmark = pytest.mark.integration

ADMIN = {"X-API-Key": ADMIN_KEY}
POLICY = """
roles:
  inventory:
    resources: ["all_devices", "summary_stats"]
    verbs: ["execute", "list"]
  network:
    resources: ["topology_*"]
    verbs: ["execute"]
groups:
  "Inventory":
    roles: [inventory]
  "Network-Ops":
    roles: [network]
"""


async def _until(check: Callable[[], Awaitable[bool]], *, timeout: float = 30.0) -> float:
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < timeout, "deadline passed"
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def _cache_state(client: httpx.AsyncClient) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get("/health/platform")).json()
    return dict(body["answer_cache"])


async def _ready(client: httpx.AsyncClient) -> None:
    async def following() -> bool:
        return bool((await _cache_state(client))["following"])

    async def pro() -> bool:
        return (await client.get("/license", headers=ADMIN)).json()["plan"] == "pro"

    await _until(following)
    await _until(pro)


async def _call(
    client: httpx.AsyncClient,
    cid: str,
    name: str,
    headers: dict[str, str],
    body: dict[str, Any] | None = None,
) -> httpx.Response:
    return await client.post(
        f"/queries/{name}", headers={**headers, "X-Correlation-ID": cid}, json=body or {}
    )


async def _audited(env: dict[str, str], cids: set[str]) -> dict[str, AuditRequestEvent]:
    adapter = ADAPTERS[topics.AUDIT_EVENTS.name]

    def wanted(record: Any) -> bool:
        event = json.loads(record.value)
        return bool(event.get("correlation_id") in cids and event["source"] == "query-gateway")

    records = await collect(
        env["MESHQ_KAFKA_BOOTSTRAP"],
        env["MESHQ_KAFKA_TOPIC_PREFIX"] + topics.AUDIT_EVENTS.name,
        count=len(cids),
        match=wanted,
    )
    events = [adapter.validate_json(r.value) for r in records]
    # the gateway's events (graph-engine audits a write under the same correlation id)
    return {e.correlation_id: e for e in events if e.source == "query-gateway"}


def _racks(answer: httpx.Response) -> dict[str, str | None]:
    return {row["device"]: row["rack"] for row in answer.json()["rows"]}


async def test_hits_are_shared_audited_and_dropped_when_the_graph_changes(
    gateway_env, spawn
) -> None:
    await publish_license(gateway_env, "pro")
    applied = await submit(gateway_env["MESHQ_GRAPH_ENGINE_URL"], gateway_env, load_snapshot())
    assert applied["status"] == "applied", applied
    env = {**gateway_env, "MESHQ_QUERY_CACHE_TTL": "120"}
    pod_a = spawn("meshq_query_gateway", env, name="gw-a").wait_healthy()
    pod_b = spawn("meshq_query_gateway", env, name="gw-b").wait_healthy()
    async with (
        httpx.AsyncClient(base_url=pod_a.url, timeout=30) as a,
        httpx.AsyncClient(base_url=pod_b.url, timeout=30) as b,
    ):
        await _ready(a)
        await _ready(b)
        first = await _call(a, "c-miss", "all_devices", ADMIN)
        assert first.status_code == 200, first.text
        second = await _call(a, "c-hit", "all_devices", ADMIN)
        assert second.json() == first.json()
        # another pod finds what the first one kept, once it knows the revision (a pod starts
        # knowing none: its first answer from graph-engine tells it)
        assert (await _call(b, "c-learn-b", "summary_stats", ADMIN)).status_code == 200
        other = await _call(b, "c-hit-b", "all_devices", ADMIN)
        assert other.json() == first.json()
        state_a, state_b = await _cache_state(a), await _cache_state(b)
        assert state_a["hits"] == 1 and state_a["stored"] == 1, state_a
        assert state_b["hits"] == 1 and state_b["stored"] == 1, state_b  # summary_stats
        assert state_a["revision"] == state_b["revision"] is not None
        # kept in Redis, under this installation's prefix, with its time to live
        redis = Redis.from_url(gateway_env["MESHQ_REDIS_URL"])
        prefix = "meshq:qc:" + gateway_env["MESHQ_KAFKA_TOPIC_PREFIX"]
        keys = [k async for k in redis.scan_iter(match=prefix + "*")]
        assert len(keys) == 2  # all_devices and summary_stats
        assert 0 < await redis.pttl(keys[0]) <= 120_000
        # another page or other parameters are other answers
        paged = await a.post("/queries/all_devices", params={"limit": 2}, headers=ADMIN, json={})
        assert paged.json()["rows"] == first.json()["rows"][:2]
        assert (await _cache_state(a))["hits"] == 1

        # a write through pod a: never cached, and pod a answers the new graph at once
        device = next(r["device"] for r in first.json()["rows"] if r["rack"] != "R-cache")
        rack = f"R-{uuid.uuid4().hex[:6]}"
        patch = {"device": device, "rack": rack}
        for n in range(2):
            written = await _call(a, f"c-write-{n}", "update_device_metadata", ADMIN, patch)
            assert written.status_code == 200, written.text
        after = await _call(a, "c-after", "all_devices", ADMIN)
        assert _racks(after)[device] == rack

        # pod b learns the revision from topology.changed and never serves the old answer again
        # (it finds the answer pod a kept under the new revision)
        revision = (await _cache_state(a))["revision"]

        async def b_moved() -> bool:
            return bool((await _cache_state(b))["revision"] == revision)

        waited = await _until(b_moved, timeout=10)
        print(f"pod b followed the new revision {waited:.2f} s after the write's answer")
        seen_b = await _call(b, "c-after-b", "all_devices", ADMIN)
        assert _racks(seen_b)[device] == rack
        again = await _call(b, "c-after-b2", "all_devices", ADMIN)
        assert _racks(again)[device] == rack

        # a snapshot applied: the status says so, and what is read next is of the new graph
        snapshot = load_snapshot().model_copy(update={"snapshot_id": f"s-{uuid.uuid4().hex[:8]}"})
        applied = await submit(gateway_env["MESHQ_GRAPH_ENGINE_URL"], gateway_env, snapshot)
        assert applied["status"] == "applied"
        assert applied["result"]["revision"] >= revision
        await redis.aclose()

    cids = {
        "c-miss",
        "c-hit",
        "c-learn-b",
        "c-hit-b",
        "c-write-0",
        "c-write-1",
        "c-after",
        "c-after-b",
        "c-after-b2",
    }
    events = await _audited(gateway_env, cids)
    assert set(events) == cids
    cached = {cid: events[cid].data.cached for cid in cids}
    assert cached == {
        "c-miss": False,
        "c-hit": True,
        "c-learn-b": False,
        "c-hit-b": True,
        "c-write-0": False,
        "c-write-1": False,
        "c-after": False,
        "c-after-b": True,  # what pod a stored under the new revision
        "c-after-b2": True,
    }
    hit = events["c-hit"].data
    assert (hit.query, hit.status, hit.principal) == ("all_devices", 200, "admin")
    assert hit.row_count == len(first.json()["rows"]) and len(hit.sample_rows) == 5


async def test_rbac_refuses_a_cached_answer(gateway_env, keys_file, spawn, tmp_path: Path) -> None:
    await publish_license(gateway_env, "pro")
    applied = await submit(gateway_env["MESHQ_GRAPH_ENGINE_URL"], gateway_env, load_snapshot())
    assert applied["status"] == "applied", applied
    policy = tmp_path / "rbac.yaml"
    policy.write_text(POLICY)
    tag = uuid.uuid4().hex[:6]
    inventory = {"X-API-Key": make_key(keys_file, f"inv-{tag}", "Inventory")}
    netops = {"X-API-Key": make_key(keys_file, f"net-{tag}", "Network-Ops")}
    env = {**gateway_env, "RBAC_POLICY_FILE": str(policy)}
    gw = spawn("meshq_query_gateway", env).wait_healthy()
    async with httpx.AsyncClient(base_url=gw.url, timeout=30) as client:
        await _ready(client)
        for cid in ("r-1", "r-2"):
            assert (await _call(client, cid, "summary_stats", inventory)).status_code == 200
        assert (await _cache_state(client))["hits"] == 1  # the answer is in the cache
        denied = await _call(client, "r-denied", "summary_stats", netops)
        assert denied.status_code == 403, denied.text
        assert problem(denied)["resource"] == "summary_stats"
        assert (await _cache_state(client))["hits"] == 1  # not looked up for the refused call
        # the admin key is allowed and gets the cached answer
        assert (await _call(client, "r-admin", "summary_stats", ADMIN)).status_code == 200
        assert (await _cache_state(client))["hits"] == 2
    events = await _audited(gateway_env, {"r-1", "r-2", "r-denied", "r-admin"})
    refused = events["r-denied"].data
    assert (refused.status, refused.query, refused.cached) == (403, "summary_stats", None)
    assert [events[c].data.cached for c in ("r-1", "r-2", "r-admin")] == [False, True, True]


@pytest.fixture
def paused_redis(tmp_path: Path) -> Iterator[PausableRedis]:
    if not redis_server_available():
        pytest.skip("needs the redis-server binary")
    with PausableRedis(tmp_path / "redis") as server:
        yield server


async def test_a_hung_redis_costs_a_bounded_wait_and_answers_keep_coming(
    gateway_env, spawn, paused_redis: PausableRedis
) -> None:
    await publish_license(gateway_env, "pro")
    applied = await submit(gateway_env["MESHQ_GRAPH_ENGINE_URL"], gateway_env, load_snapshot())
    assert applied["status"] == "applied", applied
    env = {
        **gateway_env,
        "MESHQ_REDIS_URL": paused_redis.url,
        "MESHQ_REDIS_TIMEOUT": "0.3",
        "MESHQ_REDIS_BREAKER_FAILURES": "2",
        "MESHQ_REDIS_BREAKER_COOLDOWN": "1",
        # every lookup goes to Redis (no answers kept in the pod's memory)
        "MESHQ_QUERY_CACHE_LOCAL_BYTES": "0",
    }
    gw = spawn("meshq_query_gateway", env).wait_healthy()
    async with httpx.AsyncClient(base_url=gw.url, timeout=30) as client:
        await _ready(client)
        expected = (await _call(client, "h-warm", "all_devices", ADMIN)).json()
        assert (await _call(client, "h-hit", "all_devices", ADMIN)).json() == expected
        assert (await _cache_state(client))["hits"] == 1

        paused_redis.pause()
        took = []
        for n in range(6):
            started = time.monotonic()
            answer = await _call(client, f"h-hung-{n}", "all_devices", ADMIN)
            took.append(time.monotonic() - started)
            assert answer.status_code == 200 and answer.json()["rows"] == expected["rows"]
        print(f"query latencies with Redis hung (s): {[round(t, 3) for t in took]}")
        assert max(took) < 1.0, took  # each lookup waits at most MESHQ_REDIS_TIMEOUT
        assert min(took[2:]) < 0.3, took  # then the breaker is open: no wait at all
        state = await _cache_state(client)
        assert state["hits"] == 1 and state["bypassed"] >= 2, state

        paused_redis.resume()

        async def hits_again() -> bool:
            await _call(client, "h-probe", "all_devices", ADMIN)
            return bool((await _cache_state(client))["hits"] > 1)

        await _until(hits_again, timeout=20)
