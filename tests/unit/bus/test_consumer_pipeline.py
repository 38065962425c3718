"""A subscription's steps in memory: decode, retries and dead letters, the wait for a store,
commits and the offsets seen (``meshq_runtime.kafka.consumer``)."""

from __future__ import annotations

import asyncio
import os

import pytest
from meshq_runtime.kafka import FailurePolicy
from meshq_runtime.kafka.consumer import FAILPOINT_EXIT
from network_discovery.contracts import topics
from network_discovery.contracts.events import (
    AuditRequestData,
    AuditRequestEvent,
    NetboxSyncRequested,
    NetboxSyncRequestedData,
)
from support.memory_bus import MemoryKafka


def _audit(path: str = "/q") -> AuditRequestEvent:
    data = AuditRequestData(
        principal="p", auth_method="api_key", method="GET", path=path, status=200, elapsed_ms=1
    )
    return AuditRequestEvent(source="test", subject="p", data=data)


def _sync(direction: str = "pull") -> NetboxSyncRequested:
    return NetboxSyncRequested(
        source="test", subject="netbox", data=NetboxSyncRequestedData(direction=direction)
    )


async def test_the_handler_gets_its_topics_event_then_the_offset_is_committed() -> None:
    kafka = MemoryKafka(service="audit")
    got: list[AuditRequestEvent] = []

    async def handler(event: AuditRequestEvent) -> None:
        assert kafka.commits == 0  # the side effect comes first
        got.append(event)

    assert kafka.consumer.subscribe(topics.AUDIT_EVENTS, handler) == "mem.audit"
    event = _audit()
    async with kafka.running():
        await kafka.bus.publish(event)
    assert got == [event] and type(got[0]) is AuditRequestEvent
    assert kafka.commits == 1 and kafka.consumer.processed == 1 and not kafka.parked
    assert ("consumed:mem.audit", "mem.meshq.audit.events", 0, 0) in kafka.resets.seen


async def test_a_record_that_does_not_decode_is_parked_committed_and_passed() -> None:
    kafka = MemoryKafka(service="audit")
    got: list[AuditRequestEvent] = []

    async def handler(event: AuditRequestEvent) -> None:
        got.append(event)

    kafka.consumer.subscribe(topics.AUDIT_EVENTS, handler)
    wrong_shape = b'{"type": "audit.request", "id": "x"}'
    good = _audit("/after-garbage")
    async with kafka.running():
        await kafka.publish_raw(topics.AUDIT_EVENTS, b"\x00not json at all", key=b"k")
        await kafka.publish_raw(topics.AUDIT_EVENTS, wrong_shape)
        await kafka.bus.publish(good)
    assert got == [good]
    assert [p.value for p in kafka.parked] == [b"\x00not json at all", wrong_shape]
    assert kafka.parked[0].key == b"k"
    for parked in kafka.parked:
        assert parked.headers["x-meshq-original-topic"] == topics.AUDIT_EVENTS.name
        assert parked.headers["x-meshq-original-partition"] == "0"
        assert parked.headers["x-meshq-consumer-group"] == "mem.audit"
        assert parked.headers["x-meshq-error-kind"] == "invalid"
        assert "ValidationError" in parked.headers["x-meshq-error"]
    # every record committed; only the decoded one counts as processed
    assert kafka.commits == 3 and kafka.consumer.processed == 1
    assert kafka.consumer.dead_lettered == 2


async def test_another_topics_event_does_not_decode() -> None:
    kafka = MemoryKafka()
    calls = 0

    async def handler(event: NetboxSyncRequested) -> None:
        nonlocal calls
        calls += 1

    kafka.consumer.subscribe(topics.NETBOX_SYNC_REQUESTED, handler)
    async with kafka.running():
        await kafka.publish_raw(topics.NETBOX_SYNC_REQUESTED, _audit().model_dump_json().encode())
    assert calls == 0 and [p.headers["x-meshq-error-kind"] for p in kafka.parked] == ["invalid"]


async def test_a_failing_handler_is_retried_then_parked_and_the_next_event_goes_through() -> None:
    kafka = MemoryKafka(max_attempts=3)
    attempts: dict[str, int] = {}

    async def handler(event: NetboxSyncRequested) -> None:
        attempts[event.id] = attempts.get(event.id, 0) + 1
        if event.data.direction == "push":
            raise RuntimeError("NetBox answered 502")

    kafka.consumer.subscribe(topics.NETBOX_SYNC_REQUESTED, handler)
    poison, fine = _sync("push"), _sync("pull")
    async with kafka.running():
        await kafka.bus.publish(poison)
        await kafka.bus.publish(fine)
    assert attempts == {poison.id: 3, fine.id: 1}
    (parked,) = kafka.parked
    assert parked.headers["x-meshq-error-kind"] == "failed"
    assert "NetBox answered 502" in parked.headers["x-meshq-error"]
    assert poison.id.encode() in parked.value
    assert kafka.commits == 2 and kafka.consumer.processed == 2
    assert kafka.consumer.dead_lettered == 1 and not kafka.consumer.waiting


async def test_an_error_the_policy_calls_permanent_is_parked_at_once() -> None:
    kafka = MemoryKafka(max_attempts=5)
    calls = 0

    async def handler(event: NetboxSyncRequested) -> None:
        nonlocal calls
        calls += 1
        raise ValueError("malformed")

    policy = FailurePolicy.until_stored(permanent=lambda e: isinstance(e, ValueError))
    kafka.consumer.subscribe(topics.NETBOX_SYNC_REQUESTED, handler, policy=policy)
    async with kafka.running():
        await kafka.bus.publish(_sync())
    assert calls == 1 and kafka.commits == 1
    assert [p.headers["x-meshq-error-kind"] for p in kafka.parked] == ["permanent"]


async def test_until_stored_waits_past_every_attempt_and_ready_says_why() -> None:
    kafka = MemoryKafka(max_attempts=3)
    name, probe = kafka.consumer.probe()
    calls = 0
    store_back = asyncio.Event()

    async def handler(event: NetboxSyncRequested) -> None:
        nonlocal calls
        calls += 1
        if not store_back.is_set():
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")

    policy = FailurePolicy.until_stored(max_delay_s=0.01)
    kafka.consumer.subscribe(topics.NETBOX_SYNC_REQUESTED, handler, policy=policy)
    event = _sync()
    async with kafka.running():
        publish = asyncio.create_task(kafka.bus.publish(event))
        while calls < 10:  # far past MESHQ_KAFKA_MAX_ATTEMPTS: still waiting, nothing parked
            await asyncio.sleep(0.005)
        assert not publish.done() and kafka.commits == 0 and not kafka.parked
        with pytest.raises(ConnectionError, match=r"meshq.netbox.sync.requested\[0\] waits at"):
            await probe()
        (waiting,) = kafka.consumer.waiting.values()
        assert waiting.event_id == event.id and waiting.attempts >= 9
        store_back.set()
        await asyncio.wait_for(publish, 5)
    await probe()  # ready again
    assert name == "consumer" and kafka.consumer.waits_recovered == 1
    assert kafka.commits == 1 and not kafka.parked and not kafka.consumer.waiting


async def test_the_failpoint_ends_the_process_after_the_handler_before_the_commit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Exited(BaseException):
        pass

    def exit_(code: int) -> None:
        raise Exited(code)

    monkeypatch.setattr(os, "_exit", exit_)
    kafka = MemoryKafka(failpoints="consumer.before_commit")
    handled: list[str] = []

    async def handler(event: NetboxSyncRequested) -> None:
        handled.append(event.id)

    kafka.consumer.subscribe(topics.NETBOX_SYNC_REQUESTED, handler)
    event = _sync()
    async with kafka.running():
        with pytest.raises(Exited) as exited:
            await kafka.bus.publish(event)
        # a record that does not decode is parked and committed: no failpoint on that path
        await kafka.publish_raw(topics.NETBOX_SYNC_REQUESTED, b"{}")
    assert exited.value.args == (FAILPOINT_EXIT,)
    assert handled == [event.id] and kafka.commits == 1 and len(kafka.parked) == 1


async def test_each_subscription_has_its_own_group_and_policy() -> None:
    kafka = MemoryKafka(service="netbox-sync")
    seen: list[str] = []

    async def on_request(event: NetboxSyncRequested) -> None:
        seen.append("request")

    async def on_audit(event: AuditRequestEvent) -> None:
        seen.append("audit")
        raise RuntimeError("down")

    first = kafka.consumer.subscribe(topics.NETBOX_SYNC_REQUESTED, on_request)
    second = kafka.consumer.subscribe(topics.AUDIT_EVENTS, on_audit, group="netbox-sync.audit")
    assert (first, second) == ("mem.netbox-sync", "mem.netbox-sync.audit")
    async with kafka.running():
        await kafka.bus.publish(_sync())
        await kafka.bus.publish(_audit())
    assert seen == ["request", "audit", "audit", "audit"]
    (parked,) = kafka.parked
    assert parked.headers["x-meshq-consumer-group"] == "mem.netbox-sync.audit"
    assert parked.headers["x-meshq-original-topic"] == topics.AUDIT_EVENTS.name
