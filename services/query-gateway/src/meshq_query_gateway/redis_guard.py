"""Every Redis call of the gateway, bounded in time and behind a circuit breaker.

Redis that refuses connections fails fast by itself; Redis that accepts them and never answers
(a stopped process, a network path that swallows packets) would hold each call for as long as
the client's timeouts and retries allow. So every call goes through :meth:`GuardedRedis.call`:

- it may take ``timeout`` seconds (``MESHQ_REDIS_TIMEOUT``, half a second by default), then it
  counts as a failure and raises :class:`RedisUnavailable`;
- after ``failures`` consecutive failures (``MESHQ_REDIS_BREAKER_FAILURES``) the breaker
  *opens*: calls raise :class:`RedisUnavailable` at once, without touching Redis;
- after ``cooldown`` seconds (``MESHQ_REDIS_BREAKER_COOLDOWN``) it is *half-open*: one call
  (a caller's, or the background probe's PING) goes through; its success closes the breaker,
  its failure opens it for another cool-down. Calls made meanwhile still fail fast.

Callers decide what an unavailable Redis means for them: rate limits count per pod
(``ratelimit``), RBAC reloads reach the other pods by their periodic re-read
(``policy_store``), and ``/ready`` says ``degraded`` with the reason (:meth:`degraded`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

import structlog
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError, ResponseError

__all__ = ["BreakerState", "CircuitBreaker", "GuardedRedis", "RedisUnavailable", "guarded"]

log = structlog.get_logger(__name__)

T = TypeVar("T")
BreakerState = Literal["closed", "open", "half_open"]


class RedisUnavailable(Exception):
    """Redis did not answer in time, or the breaker is open; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CircuitBreaker:
    """Closed, open after ``failures`` consecutive failures, half-open after ``cooldown``."""

    def __init__(
        self,
        *,
        failures: int = 3,
        cooldown: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failures < 1 or cooldown <= 0:
            raise ValueError("a breaker needs failures >= 1 and a positive cool-down")
        self.threshold = failures
        self.cooldown = cooldown
        self._clock = clock
        self.state: BreakerState = "closed"
        self.consecutive = 0
        self.reason: str | None = None  # the last failure
        self.opened_at: float | None = None
        self._trial = False  # a half-open trial call is in flight
        #: Moves each time the breaker closes after an outage (listeners resubscribe on it).
        self.recoveries = 0

    def allow(self) -> bool:
        """May a call go to Redis now? In half-open, only one at a time."""
        if self.state == "closed":
            return True
        if self.state == "open":
            assert self.opened_at is not None
            if self._clock() - self.opened_at < self.cooldown:
                return False
            self.state = "half_open"
            log.info("redis.breaker_half_open", reason=self.reason)
        if self._trial:
            return False
        self._trial = True
        return True

    def abandon(self) -> None:
        """A call that was let through ended without an outcome (it was cancelled)."""
        self._trial = False

    def success(self) -> None:
        self._trial = False
        self.consecutive = 0
        if self.state != "closed":
            outage = self._clock() - self.opened_at if self.opened_at is not None else 0.0
            self.state = "closed"
            self.opened_at = None
            self.recoveries += 1
            log.info("redis.breaker_closed", outage_s=round(outage, 2), was=self.reason)
            self.reason = None

    def failure(self, reason: str) -> None:
        self._trial = False
        self.consecutive += 1
        self.reason = reason
        if self.state == "half_open" or (
            self.state == "closed" and self.consecutive >= self.threshold
        ):
            if self.state == "closed":
                log.warning(
                    "redis.breaker_opened",
                    reason=reason,
                    failures=self.consecutive,
                    cooldown_s=self.cooldown,
                )
            self.state = "open"
            self.opened_at = self._clock()

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": self.state, "consecutive_failures": self.consecutive}
        if self.reason is not None:
            out["last_error"] = self.reason
        if self.opened_at is not None:
            out["open_for_s"] = round(self._clock() - self.opened_at, 1)
        return out


class GuardedRedis:
    """A Redis client whose calls are bounded by ``timeout`` and gated by a breaker."""

    def __init__(
        self,
        client: Redis | RedisCluster,
        *,
        timeout: float = 0.5,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.client = client
        self.timeout = timeout
        self.breaker = breaker or CircuitBreaker()
        self._monitor: asyncio.Task[None] | None = None

    @property
    def available(self) -> bool:
        return self.breaker.state == "closed"

    async def call(self, op: str, fn: Callable[[], Awaitable[T]]) -> T:
        """``await fn()`` within ``timeout``; :class:`RedisUnavailable` when the breaker is
        open or Redis fails to answer. An error answer (``ResponseError``: Redis is up but
        refused the command) is raised as it is and does not count against the breaker."""
        if not self.breaker.allow():
            raise RedisUnavailable(f"circuit open after: {self.breaker.reason}")
        try:
            async with asyncio.timeout(self.timeout):  # no task per call, unlike wait_for
                result = await fn()
        except ResponseError:
            self.breaker.success()
            raise
        except (TimeoutError, RedisError, OSError) as exc:
            reason = _describe(op, exc, self.timeout)
            self.breaker.failure(reason)
            raise RedisUnavailable(reason) from exc
        except BaseException:
            self.breaker.abandon()  # cancelled: the next caller may try
            raise
        self.breaker.success()
        return result

    async def ping(self) -> None:
        await self.call("PING", self.client.ping)

    def degraded(self) -> str | None:
        """Why Redis is not in use (the breaker is not closed), else None."""
        if self.breaker.state == "closed":
            return None
        return (
            f"Redis unavailable ({self.breaker.reason}); circuit {self.breaker.state}: rate "
            "limits count per pod, RBAC reloads reach other pods by their periodic re-read"
        )

    async def readiness(self) -> str | None:
        """For ``/ready``: the breaker's reason when it is open, else the outcome of one
        bounded PING (a failure counts towards opening it)."""
        reason = self.degraded()
        if reason is not None:
            return reason
        try:
            await self.ping()
        except RedisUnavailable as exc:
            return f"Redis unavailable ({exc.reason})"
        return None

    def start(self) -> None:
        """Probe in the background while the breaker is open, so that it closes again when
        Redis is back even if no request comes."""
        if self._monitor is None:
            self._monitor = asyncio.create_task(self._watch(), name="redis-breaker-probe")

    async def stop(self) -> None:
        """Stop the probe and close the client (within a bound: Redis may be hung)."""
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
            self._monitor = None
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.aclose(), timeout=max(1.0, self.timeout))

    async def _watch(self) -> None:
        step = min(1.0, self.breaker.cooldown / 2)
        while True:
            await asyncio.sleep(step)
            if self.breaker.state == "closed":
                continue
            with contextlib.suppress(RedisUnavailable):
                await self.ping()


def guarded(client: Redis | RedisCluster | GuardedRedis | None) -> GuardedRedis | None:
    """``client`` as a :class:`GuardedRedis` (a bare client gets the default bounds)."""
    if client is None or isinstance(client, GuardedRedis):
        return client
    return GuardedRedis(client)


def _describe(op: str, exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError) and not isinstance(exc, RedisError):
        return f"{op} got no answer within {timeout:g} s"
    text = str(exc).strip()
    name = type(exc).__name__
    return f"{op} failed: {name}: {text[:160]}" if text else f"{op} failed: {name}"
