"""The RBAC policy in force: read from ``RBAC_POLICY_FILE``, re-read when it changes, and reloaded
on every pod when any one of them is told to (Redis Pub/Sub ``meshq:rbac:reload``).

A file that does not parse never replaces the last good policy; the reason is logged and kept for
``GET /admin/rbac``. A file that is broken at start leaves an empty policy (nobody but the admin
may do anything) until it is fixed: RBAC fails closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
import uuid
from pathlib import Path
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from meshq_query_gateway.rbac import Policy, PolicyError, parse_policy

__all__ = ["RELOAD_CHANNEL", "PolicyStore"]

log = structlog.get_logger(__name__)

RELOAD_CHANNEL = "meshq:rbac:reload"


class PolicyStore:
    def __init__(
        self,
        path: Path | None,
        *,
        interval: float = 30.0,
        redis: Redis | RedisCluster | None = None,
        channel: str = RELOAD_CHANNEL,
    ) -> None:
        self.path = path
        self.interval = interval
        self.channel = channel
        self.pod_id = uuid.uuid4().hex[:12]
        self._redis = redis
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
            "roles": sorted(self.policy.roles) if self.policy else [],
            "groups": sorted(self.policy.groups) if self.policy else [],
        }

    def reload(self, *, reason: str = "manual") -> tuple[bool, str | None]:
        """Read the file now; keep the last good policy when it is broken."""
        if self.path is None:
            return True, None
        try:
            stat = self.path.stat()
            text = self.path.read_text(encoding="utf-8")
            policy = parse_policy(text)
        except (OSError, UnicodeDecodeError, PolicyError) as exc:
            self.last_error = f"{self.path}: {exc}"
            log.error("rbac.policy_rejected", file=str(self.path), reason=reason, error=str(exc))
            if self.policy is None:
                self.policy = Policy()
            return False, self.last_error
        self._stamp = (stat.st_mtime_ns, stat.st_size)
        self.policy = policy
        self.digest = hashlib.sha256(text.encode()).hexdigest()[:16]
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

    async def start(self) -> None:
        if self.path is None:
            return
        self.reload(reason="start")
        self._tasks.append(asyncio.create_task(self._watch(), name="rbac-watch"))
        if self._redis is not None:
            self._tasks.append(asyncio.create_task(self._listen(), name="rbac-listen"))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._listening.wait(), timeout=5.0)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def broadcast(self) -> int:
        """Tell every pod (this one included, already reloaded) to reload; returns receivers."""
        if self._redis is None:
            return 0
        message = json.dumps({"origin": self.pod_id, "at": time.time()})
        if isinstance(self._redis, RedisCluster):
            # Every pod subscribes on the node that owns the channel's slot. A cluster PUBLISH
            # reaches subscribers on all nodes but counts only those of the node that took it,
            # so send it to that node for an honest count.
            node = self._redis.get_node_from_key(self.channel)
            return int(await self._redis.publish(self.channel, message, target_nodes=node))
        return int(await self._redis.publish(self.channel, message))

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self.changed():
                self.reload(reason="file-changed")

    async def _listen(self) -> None:
        assert self._redis is not None
        backoff = 0.5
        while True:
            pubsub = self._redis.pubsub()
            try:
                # A round trip first: it also loads a Redis Cluster client's slot map, which
                # SUBSCRIBE needs to pick its node.
                await self._redis.ping()
                await pubsub.subscribe(self.channel)
                self._listening.set()
                backoff = 0.5
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is None or message.get("type") != "message":
                        continue
                    if _origin(message.get("data")) != self.pod_id:
                        self.reload(reason="pubsub")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("rbac.pubsub_lost", error=type(exc).__name__, retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()


def _origin(data: Any) -> str | None:
    try:
        value = json.loads(data)
    except (TypeError, ValueError):
        return None
    return value.get("origin") if isinstance(value, dict) else None
