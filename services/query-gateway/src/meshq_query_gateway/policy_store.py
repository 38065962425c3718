"""The RBAC policy in force: read from ``RBAC_POLICY_FILE``, re-read when it changes, and reloaded
on every pod when any one of them is told to (Redis Pub/Sub ``meshq:rbac:reload``).

Two ways carry a change to every pod, so that losing one never loses the change:

- the periodic re-read (every ``RBAC_RELOAD_INTERVAL`` seconds) compares the file's content
  with the policy in force and reloads when it differs, whatever its timestamps say;
- the reload broadcast, which makes the other pods re-read at once. When Redis is unavailable
  the pod that was told applies the policy locally at once, answers that the broadcast is
  pending, and retries it in the background until Redis takes it or one re-read interval has
  passed (by then every pod has re-read the file). A pod whose subscription went through a
  Redis outage re-reads the file and subscribes again when Redis is back.

A file that does not parse never replaces the last good policy; the reason is logged and kept for
``GET /admin/rbac``. A file that is broken at start leaves an empty policy (nobody but the admin
may do anything) until it is fixed: RBAC fails closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from meshq_query_gateway.rbac import Policy, PolicyError, parse_policy
from meshq_query_gateway.redis_guard import GuardedRedis, RedisUnavailable, guarded

__all__ = ["RELOAD_CHANNEL", "Broadcast", "PolicyStore"]

log = structlog.get_logger(__name__)

RELOAD_CHANNEL = "meshq:rbac:reload"


@dataclass(frozen=True)
class Broadcast:
    """What became of a reload broadcast: ``sent`` to ``pods`` subscribers, or pending."""

    sent: bool
    pods: int = 0
    reason: str | None = None


class PolicyStore:
    def __init__(
        self,
        path: Path | None,
        *,
        interval: float = 30.0,
        redis: GuardedRedis | Redis | RedisCluster | None = None,
        channel: str = RELOAD_CHANNEL,
    ) -> None:
        self.path = path
        self.interval = interval
        self.channel = channel
        self.pod_id = uuid.uuid4().hex[:12]
        self._redis: GuardedRedis | None = guarded(redis)
        self._retry: asyncio.Task[None] | None = None
        self.broadcast_pending = False
        self._rejected = ""  # digest of a file content refused last, so it is logged once
        self.policy: Policy | None = None
        self.digest = ""
        self.loaded_at: float | None = None
        self.reloads = 0
        self.last_error: str | None = None
        self._stamp: tuple[int, int] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._listening = asyncio.Event()

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def describe(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "file": str(self.path) if self.path else None,
            "digest": self.digest,
            "loaded_at": self.loaded_at,
            "reloads": self.reloads,
            "last_error": self.last_error,
            "broadcast_pending": self.broadcast_pending,
            "roles": sorted(self.policy.roles) if self.policy else [],
            "groups": sorted(self.policy.groups) if self.policy else [],
        }

    def reload(self, *, reason: str = "manual") -> tuple[bool, str | None]:
        """Read the file now; keep the last good policy when it is broken."""
        if self.path is None:
            return True, None
        text = ""
        try:
            stat = self.path.stat()
            text = self.path.read_text(encoding="utf-8")
            policy = parse_policy(text)
        except (OSError, UnicodeDecodeError, PolicyError) as exc:
            self.last_error = f"{self.path}: {exc}"
            self._rejected = _digest(text) if text else ""
            log.error("rbac.policy_rejected", file=str(self.path), reason=reason, error=str(exc))
            if self.policy is None:
                self.policy = Policy()
            return False, self.last_error
        self._stamp = (stat.st_mtime_ns, stat.st_size)
        self.policy = policy
        self.digest = _digest(text)
        self.loaded_at = time.time()
        self.reloads += 1
        self.last_error = None
        log.info(
            "rbac.policy_loaded",
            file=str(self.path),
            reason=reason,
            digest=self.digest,
            roles=len(policy.roles),
            groups=len(policy.groups),
        )
        return True, None

    def changed(self) -> bool:
        if self.path is None:
            return False
        try:
            stat = self.path.stat()
        except OSError:
            return self._stamp is not None or self.last_error is None
        return (stat.st_mtime_ns, stat.st_size) != self._stamp

    def differs(self) -> bool:
        """Does the file now hold something other than the policy in force (or the content
        refused last)? Reads the file: its timestamps may not move when its content does."""
        if self.path is None:
            return False
        try:
            digest = _digest(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            return self.changed()
        return digest not in {self.digest, self._rejected}

    async def start(self) -> None:
        if self.path is None:
            return
        self.reload(reason="start")
        self._tasks.append(asyncio.create_task(self._watch(), name="rbac-watch"))
        if self._redis is not None:
            self._tasks.append(asyncio.create_task(self._listen(), name="rbac-listen"))
            # a short wait: with Redis away, the first attempt fails fast and start goes on
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._listening.wait(), timeout=5.0)

    async def stop(self) -> None:
        tasks = [*self._tasks, *([self._retry] if self._retry else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._retry = None

    async def broadcast(self) -> int:
        """Tell every pod (this one included, already reloaded) to reload; returns receivers.
        Raises :class:`RedisUnavailable` when Redis does not take it in time."""
        if self._redis is None:
            return 0
        client = self._redis.client
        message = json.dumps({"origin": self.pod_id, "at": time.time()})
        if isinstance(client, RedisCluster):
            # Every pod subscribes on the node that owns the channel's slot. A cluster PUBLISH
            # reaches subscribers on all nodes but counts only those of the node that took it,
            # so send it to that node for an honest count.
            node = client.get_node_from_key(self.channel)
            return int(
                await self._redis.call(
                    "PUBLISH", lambda: client.publish(self.channel, message, target_nodes=node)
                )
            )
        return int(await self._redis.call("PUBLISH", lambda: client.publish(self.channel, message)))

    async def announce(self) -> Broadcast:
        """Broadcast a reload this pod has applied; when Redis is unavailable, keep retrying
        in the background (the periodic re-read of the other pods is the fallback)."""
        if self._redis is None:
            return Broadcast(sent=True)
        if self._retry is not None:  # a newer reload replaces the pending one
            self._retry.cancel()
            self._retry = None
        try:
            pods = await self.broadcast()
        except RedisUnavailable as exc:
            self.broadcast_pending = True
            self._retry = asyncio.create_task(self._retry_broadcast(), name="rbac-broadcast")
            log.warning("rbac.broadcast_pending", reason=exc.reason, fallback_s=self.interval)
            return Broadcast(sent=False, reason=exc.reason)
        self.broadcast_pending = False
        return Broadcast(sent=True, pods=pods)

    async def _retry_broadcast(self) -> None:
        """Retry the broadcast until Redis takes it, or until one re-read interval has passed
        (every pod has then re-read the file by itself)."""
        deadline = time.monotonic() + self.interval
        delay = 0.5
        while time.monotonic() < deadline:
            await asyncio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            try:
                pods = await self.broadcast()
            except RedisUnavailable:
                delay = min(delay * 2, 5.0)
                continue
            self.broadcast_pending = False
            log.info("rbac.broadcast_sent_late", pods=pods)
            return
        self.broadcast_pending = False
        log.info("rbac.broadcast_dropped", reason="the periodic re-read has taken over")

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self.differs():
                self.reload(reason="periodic")

    async def _listen(self) -> None:
        assert self._redis is not None
        guard = self._redis
        backoff = 0.5
        while True:
            pubsub = guard.client.pubsub()
            try:
                # A round trip first: it also loads a Redis Cluster client's slot map, which
                # SUBSCRIBE needs to pick its node.
                await guard.ping()
                await guard.call("SUBSCRIBE", functools.partial(pubsub.subscribe, self.channel))
                self._listening.set()
                backoff = 0.5
                recoveries = guard.breaker.recoveries
                if self.differs():  # a reload may have been missed while unsubscribed
                    self.reload(reason="resubscribed")
                while guard.breaker.recoveries == recoveries:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is None or message.get("type") != "message":
                        continue
                    if _origin(message.get("data")) != self.pod_id:
                        self.reload(reason="pubsub")
                # Redis went away and came back: this connection may be one that the outage
                # left dead (a path that swallowed packets): subscribe again on a fresh one.
                log.info("rbac.pubsub_resubscribe", reason="redis recovered")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._listening.set()  # start() waits no longer: Redis is away
                reason = exc.reason if isinstance(exc, RedisUnavailable) else type(exc).__name__
                log.warning("rbac.pubsub_lost", error=reason, retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(pubsub.aclose(), timeout=guard.timeout)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _origin(data: Any) -> str | None:
    try:
        value = json.loads(data)
    except (TypeError, ValueError):
        return None
    return value.get("origin") if isinstance(value, dict) else None
