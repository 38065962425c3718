"""Gateway pods on a Redis that accepts connections and never answers (a redis-server stopped
with SIGSTOP): rate-limited calls stay fast and are counted per pod, an RBAC reload answers at
once (202, broadcast pending) and reaches the other pod by its periodic re-read or, once Redis
is back, by the retried broadcast; ``/ready`` says ``degraded`` and recovers after SIGCONT."""

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
from support.redis_server import PausableRedis, redis_server_available

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not redis_server_available(), reason="needs the redis-server binary"),
]

POLICY = """
roles:
  network:
    resources: ["topology_*", "device_*"]
    verbs: ["execute"]
groups:
  "Network-Ops":
    roles: [network]
"""
WIDER = POLICY.replace('"device_*"]', '"device_*", "orphaned_*"]')
ADMIN = {"X-API-Key": ADMIN_KEY}
#: What one call may take while Redis is hung (MESHQ_REDIS_TIMEOUT is 0.3 s here).
BOUND_S = 1.0


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[PausableRedis]:
    with PausableRedis(tmp_path / "redis") as server:
        yield server


async def _until(check: Callable[[], Awaitable[bool]], *, timeout: float) -> float:
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < timeout, "deadline passed"
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def _timed(call: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await call
    return response, time.monotonic() - started


def _pods_env(
    gateway_env: dict[str, str], redis: PausableRedis, policy: Path, interval: str
) -> dict[str, str]:
    return {
        **gateway_env,
        "MESHQ_REDIS_URL": redis.url,
        "MESHQ_REDIS_TIMEOUT": "0.3",
        "MESHQ_REDIS_BREAKER_FAILURES": "2",
        "MESHQ_REDIS_BREAKER_COOLDOWN": "1",
        "RBAC_POLICY_FILE": str(policy),
        "RBAC_RELOAD_INTERVAL": interval,
        "MESHQ_RATE_LIMITS": json.dumps({"GET /queries/{name}": "3/minute"}),
    }


async def _pro_everywhere(*clients: httpx.AsyncClient) -> None:
    for client in clients:

        async def pro(c: httpx.AsyncClient = client) -> bool:
            return (await c.get("/license", headers=ADMIN)).json()["plan"] == "pro"

        await _until(pro, timeout=20)


async def _digest(client: httpx.AsyncClient) -> str:
    body: dict[str, Any] = (await client.get("/admin/rbac", headers=ADMIN)).json()
    return str(body["digest"])


async def test_a_hung_redis_costs_each_call_a_bounded_wait(
    gateway_env, keys_file, spawn, redis: PausableRedis, tmp_path: Path
) -> None:
    policy = tmp_path / "rbac.yaml"
    policy.write_text(POLICY)
    netops = {"X-API-Key": make_key(keys_file, f"netops-{uuid.uuid4().hex[:6]}", "Network-Ops")}
    other = {"X-API-Key": make_key(keys_file, f"other-{uuid.uuid4().hex[:6]}", "Network-Ops")}
    await publish_license(gateway_env, "pro")
    # a short re-read interval: with Redis hung, it is how the other pod learns of a reload
    env = _pods_env(gateway_env, redis, policy, interval="2")
    pod_a = spawn("meshq_query_gateway", env, name="gw-a").wait_healthy()
    pod_b = spawn("meshq_query_gateway", env, name="gw-b").wait_healthy()
    async with (
        httpx.AsyncClient(base_url=pod_a.url, timeout=30) as a,
        httpx.AsyncClient(base_url=pod_b.url, timeout=30) as b,
    ):
        await _pro_everywhere(a, b)
        ready = (await a.get("/ready")).json()
        assert ready["status"] == "ready" and ready["checks"]["redis"] == "up", ready

        redis.pause()
        route = "/queries/topology_edges"
        latencies: dict[str, list[float]] = {"a": [], "b": []}
        # 3 a minute per caller, counted by each pod alone while Redis is away
        for name, client in (("a", a), ("b", b)):
            for n in range(4):
                response, took = await _timed(client.get(route, headers=netops))
                latencies[name].append(took)
                if n < 3:
                    assert response.status_code == 200, (name, n, response.text)
                else:
                    assert response.status_code == 429, (name, n, response.text)
                    body = problem(response)
                    assert body["scope"] == "pod" and body["limit"] == 3
                    assert 1 <= int(response.headers["retry-after"]) <= 60
        print(f"rate-limited call latencies with Redis hung (s): {latencies}")
        assert max(latencies["a"] + latencies["b"]) < BOUND_S, latencies

        # /ready: degraded, with the reason, and fast
        response, took = await _timed(a.get("/ready"))
        body = response.json()
        assert response.status_code == 200 and took < BOUND_S, (took, body)
        assert body["status"] == "degraded" and body["checks"]["redis"] == "degraded"
        assert "Redis unavailable" in body["degraded"]["redis"], body
        health = (await a.get("/health/platform", headers=ADMIN)).json()
        assert health["components"]["redis"]["state"] == "degraded", health

        # an RBAC reload applies here at once; the other pod re-reads the file by itself
        assert (await a.post("/queries/orphaned_ips", headers=netops)).status_code == 403
        before = await _digest(b)
        policy.write_text(WIDER)
        reloaded, took = await _timed(a.post("/admin/rbac/reload", headers=ADMIN))
        print(f"POST /admin/rbac/reload with Redis hung: {took:.3f} s")
        assert reloaded.status_code == 202 and took < BOUND_S, (took, reloaded.text)
        assert reloaded.json()["broadcast"] == "pending"
        assert "periodic re-read" in reloaded.json()["detail"]
        assert (await a.post("/queries/orphaned_ips", headers=netops)).status_code == 200
        digest = reloaded.json()["digest"]
        assert digest != before

        async def b_reloaded() -> bool:
            return await _digest(b) == digest

        waited = await _until(b_reloaded, timeout=10)
        print(f"pod b had the new policy {waited:.1f} s after the reload (periodic re-read)")
        assert (await b.post("/queries/orphaned_ips", headers=netops)).status_code == 200
        assert "reason='periodic'" in pod_b.logs() or '"reason": "periodic"' in pod_b.logs()

        # Redis back: ready again, and limits are counted across pods again
        redis.resume()

        async def ready_again() -> bool:
            answers = [(await c.get("/ready")).json()["status"] for c in (a, b)]
            return answers == ["ready", "ready"]

        recovered = await _until(ready_again, timeout=15)
        print(f"/ready said ready {recovered:.1f} s after SIGCONT")
        for client in (a, b, a):
            assert (await client.get(route, headers=other)).status_code == 200
        shared = await b.get(route, headers=other)
        assert shared.status_code == 429 and problem(shared)["scope"] == "installation"


async def test_a_reload_missed_during_the_outage_reaches_the_other_pod_after_it(
    gateway_env, keys_file, spawn, redis: PausableRedis, tmp_path: Path
) -> None:
    """With a re-read interval too long to matter, the broadcast retried once Redis answers
    again (or the re-read a pod does when it subscribes again) carries the reload."""
    policy = tmp_path / "rbac.yaml"
    policy.write_text(POLICY)
    await publish_license(gateway_env, "pro")
    env = _pods_env(gateway_env, redis, policy, interval="3600")
    pod_a = spawn("meshq_query_gateway", env, name="gw-a").wait_healthy()
    pod_b = spawn("meshq_query_gateway", env, name="gw-b").wait_healthy()
    async with (
        httpx.AsyncClient(base_url=pod_a.url, timeout=30) as a,
        httpx.AsyncClient(base_url=pod_b.url, timeout=30) as b,
    ):
        await _pro_everywhere(a, b)
        before = await _digest(b)
        redis.pause()
        policy.write_text(WIDER)
        reloaded, took = await _timed(a.post("/admin/rbac/reload", headers=ADMIN))
        assert reloaded.status_code == 202 and took < BOUND_S, (took, reloaded.text)
        assert (await a.get("/admin/rbac", headers=ADMIN)).json()["broadcast_pending"] is True
        assert await _digest(b) == before  # nothing can reach b while Redis is hung
        redis.resume()

        async def b_reloaded() -> bool:
            return await _digest(b) == reloaded.json()["digest"]

        await _until(b_reloaded, timeout=15)

        async def sent() -> bool:
            status = (await a.get("/admin/rbac", headers=ADMIN)).json()
            return status["broadcast_pending"] is False

        await _until(sent, timeout=15)
        assert "rbac.broadcast_sent_late" in pod_a.logs()
