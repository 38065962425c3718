"""Redis client factory."""

from __future__ import annotations

from redis.asyncio import Redis

from meshq_runtime.settings import RedisSettings

__all__ = ["create_redis"]


def create_redis(settings: RedisSettings) -> Redis:
    return Redis.from_url(
        settings.redis_url.get_secret_value(),
        socket_connect_timeout=3,
        socket_timeout=5,
        health_check_interval=15,
        retry_on_timeout=True,
    )
