"""The gateway's Redis guard: bounded calls, the circuit breaker's states, the per-pod limiter
it falls back to, and an RBAC reload that does not wait for Redis."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from meshq_query_gateway.policy_store import PolicyStore
from meshq_query_gateway.ratelimit import LocalLimiter, RateLimiter
from meshq_query_gateway.redis_guard import CircuitBreaker, GuardedRedis, RedisUnavailable
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeRedis:
    """Answers, fails or hangs on demand; counts the calls that reached it."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.calls = 0
        self.published: list[str] = []

    async def _answer(self, value: Any) -> Any:
        self.calls += 1
        if self.mode == "hang":
            await asyncio.Event().wait()
        if self.mode == "refuse":
            raise RedisConnectionError("Connection refused")
        return value

    async def ping(self) -> bool:
        return bool(await self._answer(True))

    async def publish(self, channel: str, message: str) -> int:
        self.published.append(message)
        return int(await self._answer(2))

    def register_script(self, _: str) -> Any:
        async def script(keys: list[str], args: list[Any]) -> Any:
            return await self._answer([1, 0])

        return script

    async def aclose(self) -> None:
        pass


def test_the_breaker_opens_after_n_failures_and_half_opens_after_the_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=3, cooldown=5.0, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.failure("PING got no answer")
    assert breaker.state == "closed"
    assert breaker.allow()
    breaker.failure("PING got no answer")
    assert breaker.state == "open" and not breaker.allow()
    clock.now += 5.0
    assert breaker.allow() and breaker.state == "half_open"
    assert not breaker.allow()  # one trial at a time
    breaker.failure("still nothing")
    assert breaker.state == "open" and not breaker.allow()  # a new cool-down
    clock.now += 5.0
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed" and breaker.recoveries == 1 and breaker.reason is None
    assert breaker.allow() and breaker.allow()


def test_a_success_resets_the_count() -> None:
    breaker = CircuitBreaker(failures=2, cooldown=1.0)
    breaker.failure("x")
    breaker.success()
    breaker.failure("y")
    assert breaker.state == "closed"


async def test_a_hung_call_is_bounded_and_then_not_made_at_all() -> None:
    fake = FakeRedis()
    fake.mode = "hang"
    guard = GuardedRedis(fake, timeout=0.05, breaker=CircuitBreaker(failures=2, cooldown=60))
    for _ in range(2):
        started = time.monotonic()
        with pytest.raises(RedisUnavailable, match=r"no answer within 0\.05 s"):
            await guard.ping()
        assert time.monotonic() - started < 0.5
    assert guard.breaker.state == "open" and fake.calls == 2
    with pytest.raises(RedisUnavailable, match="circuit open"):
        await guard.ping()
    assert fake.calls == 2  # the open breaker did not touch Redis
    reason = guard.degraded()
    assert reason and "no answer within 0.05 s" in reason and "per pod" in reason


async def test_an_error_answer_is_not_an_outage() -> None:
    guard = GuardedRedis(FakeRedis(), breaker=CircuitBreaker(failures=1, cooldown=60))

    async def refused() -> None:
        raise ResponseError("WRONGTYPE")

    with pytest.raises(ResponseError):
        await guard.call("EVALSHA", refused)
    assert guard.breaker.state == "closed"


async def test_the_background_probe_closes_the_breaker_when_redis_is_back() -> None:
    fake = FakeRedis()
    fake.mode = "refuse"
    guard = GuardedRedis(fake, timeout=0.05, breaker=CircuitBreaker(failures=1, cooldown=0.1))
    with pytest.raises(RedisUnavailable, match="ConnectionError"):
        await guard.ping()
    assert await guard.readiness() is not None
    guard.start()
    try:
        fake.mode = "ok"
        deadline = time.monotonic() + 5
        while guard.breaker.state != "closed":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        assert await guard.readiness() is None
    finally:
        await guard.stop()


def test_the_local_limiter_is_a_sliding_window() -> None:
    clock = Clock()
    local = LocalLimiter(clock=clock)
    assert [local.check("k", 2, 60)[0] for _ in range(3)] == [True, True, False]
    assert local.check("k", 2, 60) == (False, 60)
    clock.now += 30
    assert local.check("k", 2, 60) == (False, 30)
    clock.now += 30
    assert local.check("k", 2, 60) == (True, 0)
    assert local.check("other", 2, 60)[0]


def test_the_local_limiter_stays_bounded() -> None:
    clock = Clock()
    local = LocalLimiter(max_keys=10, clock=clock)
    for n in range(25):
        local.check(f"caller-{n}", 1, 60)
    assert len(local) <= 10


async def test_limits_hold_per_pod_while_redis_is_away() -> None:
    fake = FakeRedis()
    guard = GuardedRedis(fake, timeout=0.05, breaker=CircuitBreaker(failures=1, cooldown=60))
    limiter = RateLimiter(guard, {"POST /graph/chaos-simulate": "3/minute"})
    route = "POST /graph/chaos-simulate"
    first = await limiter.hit(route, "ana")
    assert first[0] and first.scope == "installation"
    fake.mode = "hang"
    verdicts = [await limiter.hit(route, "ana") for _ in range(3)]
    # the call Redis let through is counted here too: two more, then refused by this pod
    assert [v[0] for v in verdicts] == [True, True, False]
    assert {v.scope for v in verdicts} == {"pod"}
    assert 1 <= verdicts[-1][1] <= 60
    assert fake.calls == 2  # one answered, one timed out; then the breaker kept it away


async def test_a_reload_applies_here_and_the_broadcast_waits_for_redis(tmp_path: Path) -> None:
    path = tmp_path / "rbac.yaml"
    path.write_text('roles: {net: ["topology_*"]}\n')
    fake = FakeRedis()
    guard = GuardedRedis(fake, timeout=0.05, breaker=CircuitBreaker(failures=1, cooldown=0.05))
    store = PolicyStore(path, interval=30.0, redis=guard)
    store.reload()
    fake.mode = "hang"
    path.write_text('roles: {net: ["topology_*", "device_*"]}\n')
    assert store.reload()[0]
    started = time.monotonic()
    outcome = await store.announce()
    assert not outcome.sent and "no answer" in (outcome.reason or "")
    assert time.monotonic() - started < 0.5 and store.describe()["broadcast_pending"]
    fake.mode = "ok"
    deadline = time.monotonic() + 10
    while store.broadcast_pending:  # retried in the background until Redis takes it
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert len(fake.published) >= 1
    await store.stop()


def test_the_periodic_re_read_goes_by_content_not_timestamps(tmp_path: Path) -> None:
    import os

    path = tmp_path / "rbac.yaml"
    path.write_text('roles: {net: ["topology_*"]}\n')
    store = PolicyStore(path)
    store.reload()
    stat = path.stat()
    path.write_text('roles: {net: ["firewall_*"]}\n')  # same size, same timestamps
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert not store.changed() and store.differs()
    path.write_text("roles: [")  # refused once, then not re-read until it changes again
    assert store.differs() and not store.reload()[0]
    assert not store.differs()
