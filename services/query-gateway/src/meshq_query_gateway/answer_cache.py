"""Answers of read-only catalogue queries, kept in Redis and shared by every gateway pod.

An answer is kept under its query, its parameters (canonical JSON), its page (offset and limit)
and the graph revision graph-engine worked it out at, which graph-engine puts in every answer
(``revision`` and ``revision_at``: the number and the moment the writer moved to it, so that a
replaced store counting from 0 again never names the same state). A pod looks answers up under
the newest revision it knows of (:attr:`AnswerCache.revision`), and learns of newer ones from

- ``meshq.topology.changed``, which carries the revision of every change (:class:`RevisionWatcher`:
  every pod reads every partition from its end, no consumer group), and
- every answer graph-engine gives it.

So once a pod knows of a revision it never serves an answer of an older one: keys of older
revisions are simply never read again (and expire after ``MESHQ_QUERY_CACHE_TTL``). The window
in which a pod may still serve the previous revision is the time the change's event takes to
reach it (milliseconds); if it never does (the broker lost it, the pod was not yet reading), the
answer's time to live bounds it. The cache is off until the watcher reads the topic, so that no
change made while the pod starts goes unnoticed.

What is cached: answers of queries whose catalogue entry says ``writes: false`` (graph-engine's
answers depend on the graph alone, never on the caller or the time), that carry a revision equal
to the one the pod knows, and whose JSON is at most ``MESHQ_QUERY_CACHE_MAX_BYTES``. License
gates, RBAC, rate limits and the audit event apply to a cached answer exactly as to any other:
the lookup happens after them, and the audit event says ``cached: true``.

Redis is reached through :class:`~meshq_query_gateway.redis_guard.GuardedRedis`: a lookup or a
store waits at most ``MESHQ_REDIS_TIMEOUT``, and with the breaker open none waits at all; the
answer is then worked out by graph-engine as if there were no cache. Stores run behind the
answer (never delaying it), at most :data:`MAX_PENDING_STORES` at a time.

In front of Redis each pod keeps the answers it used last in memory (``local_bytes`` of JSON at
most, least recently used first out), under the same keys and with the same time to live, so a
hot answer costs no Redis call either. It holds answers of the newest revision the pod knows
only: it is emptied whenever the pod learns of a newer one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import structlog
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from meshq_runtime.kafka.security import broker_security
from meshq_runtime.settings import KafkaSettings
from network_discovery.contracts import topics
from redis.exceptions import RedisError

from meshq_query_gateway.redis_guard import GuardedRedis, RedisUnavailable

__all__ = ["MAX_PENDING_STORES", "AnswerCache", "CacheKey", "Revision", "RevisionWatcher"]

log = structlog.get_logger(__name__)

#: Stores in flight at once; past that an answer is not kept (Redis is slow or hung).
MAX_PENDING_STORES = 64
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


@dataclass(frozen=True)
class Revision:
    """One state of the graph: the writer's revision number and when it moved to it."""

    value: int
    at: datetime

    @classmethod
    def parse(cls, value: Any, at: Any) -> Revision | None:
        """From an answer's or an event's ``revision`` and ``revision_at``; None when either is
        missing or malformed (such an answer is never cached)."""
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return None
        if not isinstance(at, str) or len(at) > 64:
            return None
        try:
            moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return cls(value, moment)

    @property
    def token(self) -> str:
        """The revision in a cache key: ``<number>-<microseconds since the epoch>``."""
        return f"{self.value}-{(self.at - _EPOCH) // _MICRO}"

    def supersedes(self, other: Revision | None) -> bool:
        """Whether this revision replaces ``other`` as the newest known: a higher number, or a
        later moment (a store replaced and counting again from 0; a clock set back moves the
        number on all the same). An older event read late has both lower and is ignored."""
        if other is None:
            return True
        if self == other:
            return False
        return self.value > other.value or self.at > other.at


@dataclass(frozen=True)
class CacheKey:
    """Where one page of one query's answer is kept, for one revision."""

    revision: Revision
    redis_key: str


class AnswerCache:
    def __init__(
        self,
        redis: GuardedRedis | None,
        *,
        namespace: str,
        ttl: float,
        max_bytes: int,
        enabled: bool = True,
        max_pending: int = MAX_PENDING_STORES,
        local_bytes: int = 16 * 1_048_576,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis
        self._clock = clock
        self._local = _Local(local_bytes)
        self._prefix = f"meshq:qc:{namespace}"
        self._ttl_ms = max(1000, int(ttl * 1000))
        self.max_bytes = max_bytes
        self.enabled = enabled and redis is not None
        #: Lookups wait for the watcher of topology events (:meth:`follow`).
        self.following = False
        self.revision: Revision | None = None
        self._max_pending = max_pending
        self._pending: set[asyncio.Task[None]] = set()
        self.hits = 0
        #: Of the hits, those the pod's memory answered (no Redis call).
        self.local_hits = 0
        self.misses = 0
        self.bypassed = 0
        self.stored = 0
        self.skipped = 0

    # --- the revision -------------------------------------------------------------------

    def learn(self, revision: Revision | None, *, via: str) -> bool:
        """Take ``revision`` as the newest known when it is; True when it moved."""
        if revision is None or not revision.supersedes(self.revision):
            return False
        previous, self.revision = self.revision, revision
        self._local.clear()
        log.info(
            "query_cache.revision",
            revision=revision.value,
            revision_at=revision.at.isoformat(),
            previous=previous.value if previous is not None else None,
            via=via,
        )
        return True

    def forget(self, *, via: str) -> None:
        """A change whose revision is not known (graph-engine did not say it): no answer is
        looked up until an answer of graph-engine names the revision again."""
        if self.revision is not None:
            log.info("query_cache.revision_unknown", previous=self.revision.value, via=via)
        self.revision = None
        self._local.clear()

    def follow(self) -> None:
        """The watcher reads the topic: lookups may begin."""
        self.following = True

    # --- answers ------------------------------------------------------------------------

    def key(
        self, name: str, params: Mapping[str, Any], *, offset: int, limit: int
    ) -> CacheKey | None:
        """The key to look up under now, or None when the cache is not to be used."""
        revision = self.revision
        if not (self.enabled and self.following) or revision is None:
            return None
        return self._key(revision, name, params, offset, limit)

    def _key(
        self, revision: Revision, name: str, params: Mapping[str, Any], offset: int, limit: int
    ) -> CacheKey:
        canonical = json.dumps(
            [name, params, offset, limit],
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
            default=str,
        )
        digest = hashlib.sha256(canonical.encode()).hexdigest()[:40]
        return CacheKey(revision, f"{self._prefix}:{revision.token}:{digest}")

    async def get(self, key: CacheKey) -> dict[str, Any] | None:
        """The cached answer under ``key``; None on a miss, when Redis is unavailable (the
        call was bounded), or when a newer revision became known meanwhile."""
        redis = self._redis
        if redis is None:
            return None
        now = self._clock()
        local = self._local.get(key.redis_key, now)
        if local is not None and self.revision == key.revision:
            self.hits += 1
            self.local_hits += 1
            return local

        async def fetch() -> tuple[bytes | None, int]:
            # the answer and what is left of its time to live, in one round trip
            async with redis.client.pipeline(transaction=False) as pipe:
                pipe.get(key.redis_key)
                pipe.pttl(key.redis_key)
                found, left = await pipe.execute()
            return found, int(left)

        try:
            raw, ttl_ms = await redis.call("answer cache get", fetch)
        except (RedisUnavailable, RedisError) as exc:
            self.bypassed += 1
            log.debug("query_cache.bypassed", reason=_reason(exc))
            return None
        if raw is None or self.revision != key.revision:
            self.misses += 1
            return None
        try:
            answer = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            self.misses += 1
            return None
        if (
            not isinstance(answer, dict)
            or Revision.parse(answer.get("revision"), answer.get("revision_at")) != key.revision
        ):
            self.misses += 1
            return None
        self.hits += 1
        if ttl_ms > 0 and self.revision == key.revision:  # kept here as long as in Redis
            self._local.put(key.redis_key, answer, len(raw), now + ttl_ms / 1000)
        return answer

    def put(
        self,
        name: str,
        params: Mapping[str, Any],
        *,
        offset: int,
        limit: int,
        revision: Revision | None,
        raw: bytes,
        answer: dict[str, Any],
    ) -> bool:
        """Keep graph-engine's answer (``raw``, its JSON, and ``answer``, decoded; worked out at
        ``revision``): in this pod's memory now, in Redis behind the caller's answer. False
        when it is not to be kept (no revision, not the newest known, too large, too many
        stores in flight, Redis unavailable)."""
        redis = self._redis
        if redis is None or not (self.enabled and self.following):
            return False
        if revision is None or revision != self.revision or len(raw) > self.max_bytes:
            self.skipped += 1
            return False
        if len(self._pending) >= self._max_pending or not redis.available:
            self.skipped += 1
            return False
        key = self._key(revision, name, params, offset, limit).redis_key
        ttl = self._ttl_ms
        self._local.put(key, answer, len(raw), self._clock() + ttl / 1000)
        task = asyncio.create_task(self._store(redis, key, raw, ttl), name="answer-cache-store")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return True

    async def _store(self, redis: GuardedRedis, key: str, raw: bytes, ttl_ms: int) -> None:
        try:
            await redis.call("answer cache set", lambda: redis.client.set(key, raw, px=ttl_ms))
        except (RedisUnavailable, RedisError) as exc:
            log.debug("query_cache.store_failed", reason=_reason(exc))
            return
        self.stored += 1

    async def drain(self, timeout: float = 2.0) -> None:
        """Wait (bounded) for the stores in flight."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=timeout)

    def describe(self) -> dict[str, Any]:
        revision = self.revision
        return {
            "enabled": self.enabled,
            "following": self.following,
            "revision": revision.value if revision is not None else None,
            "revision_at": revision.at.isoformat() if revision is not None else None,
            "hits": self.hits,
            "local_hits": self.local_hits,
            "local_entries": len(self._local),
            "misses": self.misses,
            "bypassed": self.bypassed,
            "stored": self.stored,
            "skipped": self.skipped,
        }


class _Local:
    """Answers in this process's memory: at most ``capacity`` bytes of their JSON, least
    recently used first out, each until its deadline."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.size = 0
        self._entries: OrderedDict[str, tuple[float, int, dict[str, Any]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str, now: float) -> dict[str, Any] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        deadline, size, answer = entry
        if deadline <= now:
            del self._entries[key]
            self.size -= size
            return None
        self._entries.move_to_end(key)
        return answer

    def put(self, key: str, answer: dict[str, Any], size: int, deadline: float) -> None:
        if size > self.capacity:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self.size -= old[1]
        self._entries[key] = (deadline, size, answer)
        self.size += size
        while self.size > self.capacity:
            _, (_, dropped, _) = self._entries.popitem(last=False)
            self.size -= dropped

    def clear(self) -> None:
        self._entries.clear()
        self.size = 0


def _reason(exc: BaseException) -> str:
    return exc.reason if isinstance(exc, RedisUnavailable) else type(exc).__name__


class RevisionWatcher:
    """Reads ``meshq.topology.changed`` (every partition, from its end at start, no consumer
    group) and tells the cache of each revision it carries."""

    def __init__(
        self,
        settings: KafkaSettings,
        cache: AnswerCache,
        *,
        client_id: str = "meshq-query-gateway-revisions",
    ) -> None:
        self._cache = cache
        self._topic = settings.topic(topics.TOPOLOGY_CHANGED.name)
        self._broker = KafkaBroker(
            settings.kafka_bootstrap,
            client_id=client_id,
            consumer_only=True,
            metadata_max_age_ms=5_000,  # a topic the broker lost and made anew is read soon
            graceful_timeout=5.0,
            logger=None,
            security=broker_security(settings),
        )
        self._subscriber = self._broker.subscriber(
            self._topic, group_id=None, auto_offset_reset="latest", ack_policy=AckPolicy.MANUAL
        )
        self._subscriber(self._on_record)
        self._task: asyncio.Task[None] | None = None
        self.seen = 0

    def start(self) -> None:
        """Join the topic in the background; the cache is used once the positions are set."""
        self._task = asyncio.create_task(self._join(), name="answer-cache-revisions")

    async def _join(self, ready_timeout: float = 30.0) -> None:
        delay = 0.5
        while True:
            try:
                await self._broker.start()
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("query_cache.watch_failed", error=f"{type(exc).__name__}: {exc}"[:300])
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        consumer = self._subscriber.consumer
        assert consumer is not None  # started
        deadline = time.monotonic() + ready_timeout
        while not consumer.assignment():
            if time.monotonic() > deadline:
                log.warning("query_cache.unassigned", topic=self._topic, waited_s=ready_timeout)
                return  # never following: answers are worked out afresh, uncached
            await asyncio.sleep(0.1)
        for tp in consumer.assignment():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(consumer.position(tp), timeout=5.0)
        self._cache.follow()
        log.info("query_cache.following", topic=self._topic)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self._broker.stop()

    async def _on_record(self, message: KafkaMessage) -> None:
        record: Any = message.raw_message  # one aiokafka ConsumerRecord (aiokafka is untyped)
        self.seen += 1
        self.take(record.value)

    def take(self, value: bytes | None) -> None:
        """One ``topology.changed`` record, as JSON."""
        try:
            event: Any = json.loads(value or b"")
        except ValueError:
            return
        if not isinstance(event, dict) or event.get("type") != "topology.changed":
            return
        data = event.get("data")
        if not isinstance(data, dict):
            return
        revision = Revision.parse(data.get("revision"), data.get("revision_at"))
        if revision is None:
            self._cache.forget(via="topology.changed")
        else:
            self._cache.learn(revision, via="topology.changed")
