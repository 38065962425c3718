"""Redis client factory: one Redis server, or a Redis Cluster.

``MESHQ_REDIS_URL`` picks the mode by its scheme:

* ``redis://`` / ``rediss://`` (TLS) / ``unix://``: one server (or a Sentinel-fronted primary).
* ``redis+cluster://`` / ``rediss+cluster://``: a Redis Cluster. The host and port name any
  node (the client discovers the others); user and password apply to every node. Cluster mode
  is the ``redis_clustering`` license feature: a service that finds a cluster URL without it
  in the plan refuses to start (``require_cluster_license``).

Every caller uses the same small command surface on both clients (single-key commands, Lua
scripts on one key, PUBLISH / SUBSCRIBE), so nothing else changes with the mode. A future user
that touches several keys in one command, script or transaction must put the shared part of
the key names in ``{braces}`` (``meshq:{tenant}:a``, ``meshq:{tenant}:b``) so that they hash to
one slot.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import structlog
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from meshq_runtime.settings import RedisSettings

__all__ = [
    "CLUSTER_FEATURE",
    "RedisClusterNotLicensed",
    "create_redis",
    "is_cluster_url",
    "require_cluster_license",
]

log = structlog.get_logger(__name__)

#: The plan feature that unlocks Redis Cluster.
CLUSTER_FEATURE = "redis_clustering"
_CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
_OPTIONS: dict[str, Any] = {"socket_connect_timeout": 3, "socket_timeout": 5}


class RedisClusterNotLicensed(RuntimeError):
    """A cluster URL on a plan without ``redis_clustering``."""


class _License(Protocol):
    @property
    def plan(self) -> str: ...

    def allows(self, feature: str) -> bool: ...

    async def refresh(self) -> None: ...


def is_cluster_url(url: str) -> bool:
    return urlsplit(url).scheme.lower() in _CLUSTER_SCHEMES


def create_redis(settings: RedisSettings, *, timeout: float | None = None) -> Redis | RedisCluster:
    """The client for ``MESHQ_REDIS_URL``: ``RedisCluster`` for a cluster URL, else ``Redis``.

    ``timeout`` (seconds) bounds connecting and every answer, and turns the client's own
    retries off: a caller that has its own bound and fallback (the gateway's circuit breaker)
    wants a hung Redis to fail one call fast, not to be retried with backoff for seconds.
    Without it, the client waits up to 5 s per answer and retries with backoff.

    Neither connects here; the first command does.
    """
    url = settings.redis_url.get_secret_value()
    parts = urlsplit(url)
    scheme = _CLUSTER_SCHEMES.get(parts.scheme.lower())
    options: dict[str, Any] = dict(_OPTIONS)
    if timeout is not None:
        options.update(
            socket_connect_timeout=timeout, socket_timeout=timeout, retry=Retry(NoBackoff(), 0)
        )
    if scheme is None:
        if timeout is None:
            options["retry_on_timeout"] = True
        return Redis.from_url(url, health_check_interval=15, **options)
    if parts.path.strip("/") not in ("", "0"):
        raise ValueError("MESHQ_REDIS_URL: a Redis Cluster has only database 0")
    return RedisCluster.from_url(urlunsplit((scheme, *parts[1:])), **options)


async def require_cluster_license(
    settings: RedisSettings, license_state: _License, *, wait_s: float = 30.0
) -> None:
    """Refuse a cluster URL unless the plan has ``redis_clustering``.

    The license agent may not have answered yet when a service starts, so a plan without the
    feature is re-read for up to ``wait_s`` seconds before the refusal.
    """
    if not is_cluster_url(settings.redis_url.get_secret_value()):
        return
    deadline = time.monotonic() + wait_s
    while not license_state.allows(CLUSTER_FEATURE):
        if time.monotonic() >= deadline:
            raise RedisClusterNotLicensed(
                "MESHQ_REDIS_URL is a Redis Cluster URL (redis+cluster:// or rediss+cluster://) "
                f"but the {license_state.plan} plan does not include {CLUSTER_FEATURE}; use a "
                "single Redis server URL (redis:// or rediss://) or a plan with Redis Cluster"
            )
        await asyncio.sleep(min(2.0, max(0.0, deadline - time.monotonic())))
        await license_state.refresh()
    log.info("redis.cluster_mode", plan=license_state.plan)
