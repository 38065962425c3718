"""Per-identity, per-route rate limits shared by every gateway pod through Redis.

Each limited route (``"POST /graph/chaos-simulate": "5/minute"`` in ``MESHQ_RATE_LIMITS``) keeps,
per identity, a sliding log of the calls inside the window in a Redis sorted set, checked and
appended in one Lua script, so two pods can never both let the sixth call through. Over the limit
the answer is 429 problem+json with ``Retry-After`` (seconds until the oldest call leaves the
window). When Redis does not answer, calls pass and the gateway logs it: a limiter outage must not
take the API down.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

import structlog
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from meshq_runtime.http import problem_response, send_response

from meshq_query_gateway.auth import principal_of
from meshq_query_gateway.settings import parse_rate

__all__ = ["RateLimitMiddleware", "RateLimiter", "route_key"]

log = structlog.get_logger(__name__)

_TYPED = re.compile(r"\{([^}:]+):[^}]+\}")

# KEYS[1] the log; ARGV: now_ms, window_ms, limit, member. Returns {allowed, retry_after_ms}.
_SCRIPT = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])
if used < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now}
"""


def route_key(method: str, template: str) -> str:
    """``"POST /queries/{name}"``: the method and the route's template, types dropped."""
    path = _TYPED.sub(r"{\1}", template)
    return f"{method.upper()} {path}"


class RateLimiter:
    def __init__(self, redis: Any, limits: Mapping[str, str], *, prefix: str = "meshq:rl") -> None:
        self._redis = redis
        self._prefix = prefix
        self.limits: dict[str, tuple[int, int]] = {}
        for route, rate in limits.items():
            method, _, path = route.partition(" ")
            self.limits[route_key(method, path.strip())] = parse_rate(rate)
        self._script = redis.register_script(_SCRIPT) if redis is not None else None

    def limit_for(self, route: str) -> tuple[int, int] | None:
        return self.limits.get(route)

    async def hit(self, route: str, identity: str) -> tuple[bool, int, tuple[int, int] | None]:
        """(allowed, retry_after_seconds, (limit, period)) for one call of ``identity``."""
        rule = self.limits.get(route)
        if rule is None or self._script is None:
            return True, 0, rule
        count, period = rule
        who = hashlib.sha256(identity.encode()).hexdigest()[:24]
        key = f"{self._prefix}:{route}:{who}"
        now_ms = int(time.time() * 1000)
        member = f"{now_ms}:{uuid.uuid4().hex[:8]}"
        try:
            allowed, wait_ms = await self._script(
                keys=[key], args=[now_ms, period * 1000, count, member]
            )
        except Exception as exc:
            log.warning("ratelimit.redis_unavailable", route=route, error=type(exc).__name__)
            return True, 0, rule
        return bool(allowed), max(1, math.ceil(int(wait_ms) / 1000)), rule


class RateLimitMiddleware(ASGIMiddleware):
    """Runs after authentication: the identity is known, the route template is resolved."""

    def __init__(self, state: Any) -> None:
        self._state = state  # ServiceState; the limiter appears once the lifespan has run

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        limiter: RateLimiter | None = self._state.extras.get("limiter")
        who = principal_of(scope)
        if scope["type"] != "http" or limiter is None or who is None:
            await next_app(scope, receive, send)
            return
        method = str(scope.get("method", "GET"))
        route = route_key(method, str(scope.get("path_template") or scope["path"]))
        allowed, retry_after, rule = await limiter.hit(route, who.identity)
        if allowed:
            await next_app(scope, receive, send)
            return
        assert rule is not None
        count, period = rule
        log.info("ratelimit.refused", route=route, principal=who.name, retry_after=retry_after)
        response = problem_response(
            429,
            "Too many requests",
            f"{route} allows {count} calls per {period} s for each caller; "
            f"retry in {retry_after} s",
            type_="https://meshoptixiq.com/problems/rate-limited",
            route=route,
            limit=count,
            period_seconds=period,
            retry_after=retry_after,
        )
        response.headers["Retry-After"] = str(retry_after)
        await send_response(response, scope, receive, send)
