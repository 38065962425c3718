"""Per-identity, per-route rate limits shared by every gateway pod through Redis.

Each limited route (``"POST /graph/chaos-simulate": "5/minute"`` in ``MESHQ_RATE_LIMITS``) keeps,
per identity, a sliding log of the calls inside the window in a Redis sorted set, checked and
appended in one Lua script, so two pods can never both let the sixth call through. Over the limit
the answer is 429 problem+json with ``Retry-After`` (seconds until the oldest call leaves the
window).

When Redis is unavailable (no answer within ``MESHQ_REDIS_TIMEOUT``, or its circuit breaker is
open: ``redis_guard``) the limits still hold, counted by this pod alone in memory: with N pods a
caller may get up to N times the limit across the installation until Redis is back. Each pod
also keeps its own log of the calls it let through while Redis was up, so a caller who has just
used up the limit through this pod stays limited when Redis goes away. The 429 says which count
refused it (``scope``: ``installation`` or ``pod``).
"""

from __future__ import annotations

import hashlib
import math
import re
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Literal

import structlog
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from meshq_runtime.http import problem_response, send_response
from redis.exceptions import RedisError

from meshq_query_gateway.auth import principal_of
from meshq_query_gateway.redis_guard import GuardedRedis, RedisUnavailable, guarded
from meshq_query_gateway.settings import parse_rate

__all__ = ["LocalLimiter", "RateLimitMiddleware", "RateLimiter", "Verdict", "route_key"]

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


CountScope = Literal["installation", "pod"]


class Verdict(tuple[bool, int, "tuple[int, int] | None"]):
    """``(allowed, retry_after_seconds, (limit, period))``, and which count decided it."""

    scope: CountScope = "installation"

    def __new__(
        cls, allowed: bool, retry_after: int, rule: tuple[int, int] | None, scope: CountScope
    ) -> Verdict:
        verdict = super().__new__(cls, (allowed, retry_after, rule))
        verdict.scope = scope
        return verdict


class LocalLimiter:
    """The same sliding log, in this process's memory (the fallback while Redis is away).

    Bounded: logs are pruned as they are read, and when more than ``max_keys`` callers are
    tracked the idle ones are dropped first.
    """

    def __init__(
        self, *, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._logs: dict[str, deque[float]] = {}
        self._max_keys = max_keys
        self._clock = clock

    def __len__(self) -> int:
        return len(self._logs)

    def check(self, key: str, count: int, period: int) -> tuple[bool, int]:
        """(allowed, retry_after_seconds); an allowed call is counted."""
        now = self._clock()
        log_ = self._prune(key, now, period)
        if len(log_) < count:
            log_.append(now)
            return True, 0
        return False, max(1, math.ceil(log_[0] + period - now))

    def record(self, key: str, period: int) -> None:
        """Count a call another authority (Redis) let through."""
        now = self._clock()
        self._prune(key, now, period).append(now)

    def _prune(self, key: str, now: float, period: int) -> deque[float]:
        log_ = self._logs.get(key)
        if log_ is None:
            if len(self._logs) >= self._max_keys:
                self._sweep(now, period)
            log_ = self._logs[key] = deque()
        while log_ and log_[0] <= now - period:
            log_.popleft()
        return log_

    def _sweep(self, now: float, period: int) -> None:
        for key in [k for k, v in self._logs.items() if not v or v[-1] <= now - period]:
            del self._logs[key]
        while len(self._logs) >= self._max_keys:  # still full: drop the oldest callers
            del self._logs[next(iter(self._logs))]


class RateLimiter:
    def __init__(
        self,
        redis: Any,
        limits: Mapping[str, str],
        *,
        prefix: str = "meshq:rl",
        local: LocalLimiter | None = None,
    ) -> None:
        """``redis``: a :class:`GuardedRedis` (a bare client is wrapped with the default
        bounds), or None to count per pod only."""
        self._redis: GuardedRedis | None = guarded(redis)
        self._prefix = prefix
        self.local = local or LocalLimiter()
        self.limits: dict[str, tuple[int, int]] = {}
        for route, rate in limits.items():
            method, _, path = route.partition(" ")
            self.limits[route_key(method, path.strip())] = parse_rate(rate)
        client = self._redis.client if self._redis is not None else None
        self._script = client.register_script(_SCRIPT) if client is not None else None

    def limit_for(self, route: str) -> tuple[int, int] | None:
        return self.limits.get(route)

    async def hit(self, route: str, identity: str) -> Verdict:
        """(allowed, retry_after_seconds, (limit, period)) for one call of ``identity``."""
        rule = self.limits.get(route)
        if rule is None:
            return Verdict(True, 0, rule, "installation")
        count, period = rule
        who = hashlib.sha256(identity.encode()).hexdigest()[:24]
        key = f"{self._prefix}:{route}:{who}"
        if self._redis is None or self._script is None:
            allowed, wait = self.local.check(key, count, period)
            return Verdict(allowed, wait, rule, "pod")
        script = self._script
        now_ms = int(time.time() * 1000)
        member = f"{now_ms}:{uuid.uuid4().hex[:8]}"
        try:
            allowed_flag, wait_ms = await self._redis.call(
                "rate limit",
                lambda: script(keys=[key], args=[now_ms, period * 1000, count, member]),
            )
        except (RedisUnavailable, RedisError) as exc:
            reason = exc.reason if isinstance(exc, RedisUnavailable) else type(exc).__name__
            log.warning("ratelimit.counted_per_pod", route=route, reason=reason)
            allowed, wait = self.local.check(key, count, period)
            return Verdict(allowed, wait, rule, "pod")
        if allowed_flag:
            self.local.record(key, period)
            return Verdict(True, 0, rule, "installation")
        return Verdict(False, max(1, math.ceil(int(wait_ms) / 1000)), rule, "installation")


class RateLimitMiddleware(ASGIMiddleware):
    """Runs after authentication: the identity is known, the route template is resolved."""

    def __init__(self, state: Any) -> None:
        self._state = state  # ServiceState; the limiter appears once the lifespan has run

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        deps = self._state.deps  # None while the lifespan starts
        limiter: RateLimiter | None = deps.limiter if deps is not None else None
        who = principal_of(scope)
        if scope["type"] != "http" or limiter is None or who is None:
            await next_app(scope, receive, send)
            return
        method = str(scope.get("method", "GET"))
        route = route_key(method, str(scope.get("path_template") or scope["path"]))
        verdict = await limiter.hit(route, who.identity)
        allowed, retry_after, rule = verdict
        if allowed:
            await next_app(scope, receive, send)
            return
        assert rule is not None
        count, period = rule
        log.info(
            "ratelimit.refused",
            route=route,
            principal=who.name,
            retry_after=retry_after,
            scope=verdict.scope,
        )
        per = "for each caller" + ("" if verdict.scope == "installation" else " on this pod")
        response = problem_response(
            429,
            "Too many requests",
            f"{route} allows {count} calls per {period} s {per}; retry in {retry_after} s",
            type_="https://meshoptixiq.com/problems/rate-limited",
            route=route,
            limit=count,
            period_seconds=period,
            retry_after=retry_after,
            scope=verdict.scope,
        )
        response.headers["Retry-After"] = str(retry_after)
        await send_response(response, scope, receive, send)
