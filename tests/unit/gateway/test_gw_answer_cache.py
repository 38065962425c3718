"""The answer cache on the machine's Redis: keys per query, parameters, page and revision;
what is kept and what is not; a newer revision hides every older answer; a Redis that does
not answer costs a bounded wait and the cache is bypassed; topology events move the revision."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from meshq_query_gateway.answer_cache import AnswerCache, Revision, RevisionWatcher
from meshq_query_gateway.redis_guard import CircuitBreaker, GuardedRedis
from meshq_runtime.settings import KafkaSettings
from redis.asyncio import Redis
from support.procs import free_port

REDIS_URL = os.environ.get("MESHQ_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
T0 = datetime(2026, 12, 7, 4, 0, 0, 123456, tzinfo=UTC)


def _rev(value: int, seconds: float = 0.0) -> Revision:
    return Revision(value, T0 + timedelta(seconds=seconds))


def _answer(revision: Revision, rows: list[dict[str, Any]]) -> bytes:
    """graph-engine's JSON for an answer worked out at ``revision``."""
    return json.dumps(
        {
            "query": "all_devices",
            "rows": rows,
            "row_count": len(rows),
            "elapsed_ms": 1.0,
            "revision": revision.value,
            "revision_at": revision.at.isoformat(),
        }
    ).encode()


@pytest.fixture
async def redis() -> AsyncIterator[GuardedRedis]:
    client = Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        await client.ping()
    except Exception as exc:  # pragma: no cover - the machine's Redis is part of the setup
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    guarded = GuardedRedis(client, timeout=0.5)
    yield guarded
    await client.aclose()


def _cache(redis: GuardedRedis | None, **kw: Any) -> AnswerCache:
    """A cache following topology events; by default Redis alone (no answers in memory)."""
    cache = AnswerCache(
        redis,
        namespace=kw.pop("namespace", f"t{uuid.uuid4().hex[:8]}."),
        ttl=kw.pop("ttl", 30.0),
        max_bytes=kw.pop("max_bytes", 4096),
        local_bytes=kw.pop("local_bytes", 0),
        **kw,
    )
    cache.follow()
    return cache


def _put(cache: AnswerCache, name: str, revision: Revision | None, raw: bytes, **kw: Any) -> bool:
    page = {"offset": kw.pop("offset", 0), "limit": kw.pop("limit", 5)}
    return cache.put(
        name, kw.pop("params", {}), revision=revision, raw=raw, answer=json.loads(raw), **page
    )


def test_revisions_parse_and_order() -> None:
    assert Revision.parse(7, "2026-12-07T04:00:00.123456+00:00") == Revision(
        7, datetime(2026, 12, 7, 4, 0, 0, 123456, tzinfo=UTC)
    )
    assert Revision.parse(7, "2026-12-07T04:00:00Z") == Revision(
        7, datetime(2026, 12, 7, 4, tzinfo=UTC)
    )
    for value, at in ((None, "2026-12-07T04:00:00Z"), (7, None), (True, "2026-12-07T04:00:00Z")):
        assert Revision.parse(value, at) is None
    assert Revision.parse(-1, "2026-12-07T04:00:00Z") is None
    assert Revision.parse(3, "yesterday") is None
    assert Revision.parse(3, "x" * 65) is None
    # a later change of the same graph
    assert _rev(5, 1).supersedes(_rev(4)) and not _rev(4).supersedes(_rev(5, 1))
    # a store replaced: counting from 1 again, later
    assert _rev(1, 60).supersedes(_rev(57))
    # the clock set back: the number still moves on
    assert _rev(58, -30).supersedes(_rev(57))
    assert not _rev(57).supersedes(_rev(57)) and _rev(57).supersedes(None)
    # the same number at another moment is another state, with another key
    assert _rev(3).token != _rev(3, 0.000001).token
    assert _rev(3).token == f"3-{int(T0.timestamp()) * 1_000_000 + 123456}"


async def test_hit_miss_and_what_is_kept(redis: GuardedRedis) -> None:
    cache = _cache(redis, max_bytes=2048)
    r1 = _rev(1)
    params = {"role": "core", "site": ""}
    assert cache.key("all_devices", params, offset=0, limit=10) is None  # no revision known
    assert cache.learn(r1, via="answer") and not cache.learn(r1, via="answer")
    key = cache.key("all_devices", params, offset=0, limit=10)
    assert key is not None and await cache.get(key) is None and cache.misses == 1
    raw = _answer(r1, [{"device": "core1"}])
    assert _put(cache, "all_devices", r1, raw, params=params, limit=10)
    await cache.drain()
    # the same parameters in any order are the same key; another page, query or value is not
    same = cache.key("all_devices", {"site": "", "role": "core"}, offset=0, limit=10)
    assert same == key
    hit = await cache.get(key)
    assert hit is not None and hit["rows"] == [{"device": "core1"}] and cache.hits == 1
    for other in (
        cache.key("all_devices", params, offset=10, limit=10),
        cache.key("all_devices", params, offset=0, limit=20),
        cache.key("all_devices", {"role": "access", "site": ""}, offset=0, limit=10),
        cache.key("summary_stats", params, offset=0, limit=10),
    ):
        assert other is not None and other.redis_key != key.redis_key
        assert await cache.get(other) is None
    # kept with its time to live
    ttl = await redis.client.pttl(key.redis_key)
    assert 0 < ttl <= 30_000
    # not kept: no revision, another revision than the one known, too large
    before = cache.stored
    assert not _put(cache, "x", None, raw)
    assert not _put(cache, "x", _rev(0, -1), raw)
    big = _answer(r1, [{"device": "d" * 100}] * 40)
    assert len(big) > 2048
    assert not _put(cache, "x", r1, big)
    await cache.drain()
    assert cache.stored == before and cache.skipped == 3


async def test_a_newer_revision_hides_every_older_answer(redis: GuardedRedis) -> None:
    cache = _cache(redis)
    r1, r2 = _rev(1), _rev(2, 1)
    cache.learn(r1, via="answer")
    assert _put(cache, "all_devices", r1, _answer(r1, []))
    await cache.drain()
    key1 = cache.key("all_devices", {}, offset=0, limit=5)
    assert key1 is not None and await cache.get(key1) is not None
    cache.learn(r2, via="topology.changed")
    # looked up under the new revision: nothing; the old key, read late, is refused too
    key2 = cache.key("all_devices", {}, offset=0, limit=5)
    assert key2 is not None and key2.redis_key != key1.redis_key
    assert await cache.get(key2) is None
    assert await cache.get(key1) is None
    # an answer of the old revision arriving now is not kept under any key
    assert not _put(cache, "all_devices", r1, _answer(r1, []))
    # an event read late, of the older revision, changes nothing
    assert not cache.learn(r1, via="topology.changed") and cache.revision == r2
    # an entry whose content names another revision than its key is not served
    assert _put(cache, "all_devices", r2, _answer(r2, []))
    await cache.drain()
    await redis.client.set(key2.redis_key, _answer(r1, [{"device": "old"}]), px=10_000)
    assert await cache.get(key2) is None


async def test_other_installations_and_disabled_caches_share_nothing(redis: GuardedRedis) -> None:
    one, two = _cache(redis), _cache(redis)
    r1 = _rev(1)
    for cache in (one, two):
        cache.learn(r1, via="answer")
    _put(one, "all_devices", r1, _answer(r1, []))
    await one.drain()
    key = two.key("all_devices", {}, offset=0, limit=5)
    assert key is not None and await two.get(key) is None
    off = _cache(redis, enabled=False)
    off.learn(r1, via="answer")
    assert off.key("all_devices", {}, offset=0, limit=5) is None
    assert not _put(off, "all_devices", r1, b"{}")
    waiting = AnswerCache(redis, namespace="w", ttl=30, max_bytes=4096)  # no watcher yet
    waiting.learn(r1, via="answer")
    assert waiting.key("all_devices", {}, offset=0, limit=5) is None
    assert not _put(waiting, "all_devices", r1, b"{}")


async def test_a_redis_that_never_answers_is_bypassed_within_the_bound() -> None:
    """A listener that accepts and never answers: each lookup waits at most the timeout,
    then the breaker opens and lookups do not wait at all."""
    port = free_port()
    accepted: list[asyncio.StreamWriter] = []

    async def swallow(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(swallow, "127.0.0.1", port)
    client = Redis(host="127.0.0.1", port=port, socket_timeout=5, socket_connect_timeout=5)
    guarded = GuardedRedis(client, timeout=0.2, breaker=CircuitBreaker(failures=2, cooldown=30.0))
    cache = _cache(guarded)
    cache.learn(_rev(1), via="answer")
    try:
        waits = []
        for _ in range(4):
            key = cache.key("all_devices", {}, offset=0, limit=5)
            assert key is not None
            started = time.monotonic()
            assert await cache.get(key) is None
            waits.append(time.monotonic() - started)
        assert max(waits) < 0.5, waits
        assert waits[-1] < 0.05 and guarded.breaker.state == "open", waits
        assert cache.bypassed == 4 and cache.hits == 0
        # nothing is stored while the breaker is open
        assert not _put(cache, "q", _rev(1), b"{}")
    finally:
        for writer in accepted:
            writer.close()
        server.close()
        await client.aclose()


def test_topology_events_move_the_revision() -> None:
    cache = AnswerCache(None, namespace="x", ttl=30, max_bytes=4096)
    watcher = RevisionWatcher(KafkaSettings(MESHQ_KAFKA_BOOTSTRAP="127.0.0.1:9"), cache)

    def event(kind: str, **data: Any) -> bytes:
        return json.dumps({"type": kind, "data": {"snapshot_id": "s", **data}}).encode()

    at = T0.isoformat()
    watcher.take(event("topology.changed", revision=4, revision_at=at))
    assert cache.revision == Revision(4, T0)
    watcher.take(event("topology.changed", revision=3, revision_at=at))  # read late
    assert cache.revision == Revision(4, T0)
    watcher.take(event("topology.rejected", revision=9, revision_at=at))
    watcher.take(b"not json")
    assert cache.revision == Revision(4, T0)
    # a change announced without its revision: nothing is looked up until one is known again
    watcher.take(event("topology.changed"))
    assert cache.revision is None


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_the_pods_memory_answers_hot_keys_without_redis(redis: GuardedRedis) -> None:
    clock = Clock()
    space = f"t{uuid.uuid4().hex[:8]}."
    cache = _cache(redis, local_bytes=1500, ttl=30.0, clock=clock, namespace=space)
    r1 = _rev(1)
    cache.learn(r1, via="answer")
    raw = _answer(r1, [{"device": "core1"}])
    assert _put(cache, "all_devices", r1, raw)
    await cache.drain()
    key = cache.key("all_devices", {}, offset=0, limit=5)
    assert key is not None
    await redis.client.delete(key.redis_key)  # gone from Redis: memory still answers
    hit = await cache.get(key)
    assert hit is not None and hit["rows"] == [{"device": "core1"}]
    assert (cache.hits, cache.local_hits) == (1, 1)
    # an answer found in Redis is kept in memory for what is left of its time to live
    other = _cache(redis, local_bytes=1500, ttl=30.0, clock=clock, namespace=space)
    other.learn(r1, via="answer")
    assert _put(cache, "summary_stats", r1, raw)
    await cache.drain()
    key2 = other.key("summary_stats", {}, offset=0, limit=5)
    assert key2 is not None and await other.get(key2) is not None
    assert (other.hits, other.local_hits) == (1, 0)
    await redis.client.delete(key2.redis_key)
    assert await other.get(key2) is not None and other.local_hits == 1
    clock.now += 31  # past its time to live: not answered from memory any more
    assert await other.get(key2) is None
    # least recently used first out, within the bytes allowed
    for n in range(12):
        _put(cache, f"q{n}", r1, raw)
    await cache.drain()
    assert cache.describe()["local_entries"] == 1500 // len(raw)
    # a newer revision empties the memory
    cache.learn(_rev(2, 1), via="topology.changed")
    assert cache.describe()["local_entries"] == 0
    assert await cache.get(key) is None


async def test_memory_never_answers_for_an_older_revision(redis: GuardedRedis) -> None:
    cache = _cache(redis, local_bytes=1 << 20)
    r1, r2 = _rev(1), _rev(2, 1)
    cache.learn(r1, via="answer")
    _put(cache, "all_devices", r1, _answer(r1, []))
    key1 = cache.key("all_devices", {}, offset=0, limit=5)
    assert key1 is not None and await cache.get(key1) is not None
    cache.learn(r2, via="topology.changed")
    assert await cache.get(key1) is None  # a lookup begun before the event, answered after
    cache.forget(via="topology.changed")
    assert cache.key("all_devices", {}, offset=0, limit=5) is None
