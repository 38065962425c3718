"""The gateway on a real three-master Redis Cluster (started here from the machine's
redis-server on loopback ports): rate limits counted across two pods, RBAC reloads fanned out
through cluster Pub/Sub, and a cluster URL refused at start on a plan without
``redis_clustering``."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gateway_support import ADMIN_KEY, make_key, problem, publish_license
from meshq_query_gateway.ratelimit import RateLimiter
from meshq_runtime.redis import create_redis
from meshq_runtime.settings import RedisSettings
from redis.asyncio.cluster import RedisCluster
from support.redis_cluster import RedisClusterProcesses, cluster_tools_available

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not cluster_tools_available(), reason="needs redis-server and redis-cli"),
]

POLICY = """
roles:
  network:
    resources: ["topology_*"]
    verbs: ["execute"]
groups:
  "Network-Ops":
    roles: [network]
"""
WIDER = POLICY.replace('["topology_*"]', '["topology_*", "orphaned_*"]')
ADMIN = {"X-API-Key": ADMIN_KEY}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterProcesses]:
    with RedisClusterProcesses(tmp_path_factory.mktemp("redis-cluster")) as c:
        yield c


async def _until(check, *, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "deadline passed"
        await asyncio.sleep(0.05)


async def test_rate_limits_hold_on_every_node(cluster) -> None:
    """Two independent clients (two pods) share each caller's count, whichever node holds it."""
    settings = RedisSettings(MESHQ_REDIS_URL=cluster.url)
    pod_a, pod_b = create_redis(settings), create_redis(settings)
    assert isinstance(pod_a, RedisCluster)
    try:
        limits = {"POST /graph/chaos-simulate": "3/minute"}
        a, b = RateLimiter(pod_a, limits), RateLimiter(pod_b, limits)
        route = "POST /graph/chaos-simulate"
        nodes = set()
        for n in range(12):
            who = f"caller-{uuid.uuid4().hex[:6]}-{n}"
            results = [await limiter.hit(route, who) for limiter in (a, b, a, b)]
            assert [r[0] for r in results] == [True, True, True, False], who
            assert 1 <= results[-1][1] <= 60
            keys = [k async for k in pod_a.scan_iter(match=f"meshq:rl:{route}:*", count=1000)]
            nodes |= {pod_a.get_node_from_key(k).name for k in keys}
        assert len(nodes) == 3, "the callers' logs should spread over the three masters"
    finally:
        await pod_a.aclose()
        await pod_b.aclose()


async def test_gateway_pods_share_limits_and_reloads_on_the_cluster(
    cluster, gateway_env, keys_file, spawn, tmp_path: Path
) -> None:
    policy = tmp_path / "rbac.yaml"
    policy.write_text(POLICY)
    netops = {"X-API-Key": make_key(keys_file, f"netops-{uuid.uuid4().hex[:6]}", "Network-Ops")}
    env = {
        **gateway_env,
        "MESHQ_REDIS_URL": cluster.url,
        "RBAC_POLICY_FILE": str(policy),
        "RBAC_RELOAD_INTERVAL": "3600",  # only Pub/Sub can carry the reload in time
        "MESHQ_RATE_LIMITS": json.dumps({"GET /queries/{name}": "5/minute"}),
    }
    # Without redis_clustering in the plan (Community: no license event yet), refused.
    refused = spawn("meshq_query_gateway", env, name="gw-community")
    assert refused.wait_exit(timeout=90) != 0
    assert "redis.cluster_refused" in refused.logs() and "redis_clustering" in refused.logs()

    await publish_license(gateway_env, "pro")  # Pro includes redis_clustering
    pod_a = spawn("meshq_query_gateway", env, name="gw-a").wait_healthy()
    pod_b = spawn("meshq_query_gateway", env, name="gw-b").wait_healthy()
    async with (
        httpx.AsyncClient(base_url=pod_a.url, timeout=10) as a,
        httpx.AsyncClient(base_url=pod_b.url, timeout=10) as b,
    ):
        assert (await a.post("/queries/orphaned_ips", headers=netops)).status_code == 403
        before = (await b.get("/admin/rbac", headers=ADMIN)).json()
        policy.write_text(WIDER)
        reloaded = await a.post("/admin/rbac/reload", headers=ADMIN)
        assert reloaded.status_code == 200, reloaded.text
        assert reloaded.json()["notified_pods"] == 2  # both pods' subscriptions

        async def b_has_new_policy() -> bool:
            status = (await b.get("/admin/rbac", headers=ADMIN)).json()
            return status["digest"] == reloaded.json()["digest"] != before["digest"]

        await _until(b_has_new_policy, timeout=5.0)
        assert (await b.post("/queries/orphaned_ips", headers=netops)).status_code == 200

        route = "/queries/topology_edges"
        for client in (a, b, a, b, a):
            assert (await client.get(route, headers=netops)).status_code == 200
        sixth = await b.get(route, headers=netops)
        assert sixth.status_code == 429
        assert problem(sixth)["limit"] == 5
        health = (await a.get("/health/platform", headers=ADMIN)).json()
        assert health["components"]["redis"]["state"] == "up", health
