"""MESHQ_REDIS_URL picks one server or a Redis Cluster by its scheme, and a cluster URL needs
the redis_clustering feature in the plan."""

from __future__ import annotations

import pytest
from meshq_runtime.redis import (
    RedisClusterNotLicensed,
    create_redis,
    is_cluster_url,
    require_cluster_license,
)
from meshq_runtime.settings import RedisSettings
from network_discovery.licensing.plans import features_for
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster


class PlanState:
    """The part of the license follower the check reads, on a fixed plan."""

    def __init__(self, plan: str, later: str | None = None) -> None:
        self.plan = plan
        self._later = later
        self.refreshes = 0

    def allows(self, feature: str) -> bool:
        return bool(features_for(self.plan).get(feature))

    async def refresh(self) -> None:
        self.refreshes += 1
        if self._later:
            self.plan = self._later


def settings(url: str) -> RedisSettings:
    return RedisSettings(MESHQ_REDIS_URL=url)


@pytest.mark.parametrize(
    ("url", "cluster"),
    [
        ("redis://127.0.0.1:6379/0", False),
        ("rediss://:pw@redis.example:6380/2", False),
        ("redis+cluster://127.0.0.1:7000", True),
        ("rediss+cluster://user:pw@redis.example:6379/0", True),
        ("REDIS+CLUSTER://127.0.0.1:7000", True),
    ],
)
async def test_the_scheme_picks_the_client(url, cluster) -> None:
    assert is_cluster_url(url) is cluster
    client = create_redis(settings(url))
    try:
        assert isinstance(client, RedisCluster if cluster else Redis)
    finally:
        await client.aclose()


def test_cluster_client_keeps_credentials_and_tls() -> None:
    client = create_redis(settings("rediss+cluster://meshq:s3cret@redis.example:6390/0"))
    assert isinstance(client, RedisCluster)
    kwargs = client.get_connection_kwargs()
    assert (kwargs["username"], kwargs["password"]) == ("meshq", "s3cret")
    assert kwargs["connection_class"].__name__ == "SSLConnection"
    assert [(n.host, n.port) for n in client.startup_nodes] == [("redis.example", 6390)]


def test_a_cluster_has_only_database_zero() -> None:
    with pytest.raises(ValueError, match="only database 0"):
        create_redis(settings("redis+cluster://127.0.0.1:7000/3"))


async def test_community_plan_refuses_a_cluster_url_with_a_message() -> None:
    state = PlanState("community")
    with pytest.raises(RedisClusterNotLicensed) as info:
        await require_cluster_license(settings("redis+cluster://h:7000"), state, wait_s=0.2)
    message = str(info.value)
    assert "redis_clustering" in message and "community" in message and "redis://" in message
    assert state.refreshes >= 1  # it asked the agent again before refusing


async def test_a_plan_with_the_feature_passes_even_when_it_arrives_late() -> None:
    await require_cluster_license(settings("redis+cluster://h:7000"), PlanState("pro"), wait_s=0)
    late = PlanState("community", later="enterprise")
    await require_cluster_license(settings("redis+cluster://h:7000"), late, wait_s=5)
    assert late.refreshes == 1


async def test_a_single_server_url_needs_no_feature() -> None:
    state = PlanState("community")
    await require_cluster_license(settings("redis://127.0.0.1:6379/0"), state, wait_s=0)
    assert state.refreshes == 0
