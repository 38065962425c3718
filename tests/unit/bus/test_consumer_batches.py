"""A batch subscription's steps in memory (``EventConsumer.subscribe_batch``): the handler takes
a batch in order, a record that does not decode is parked alone, the policy applies to the
batch and what it gives up on is handled again event by event, one commit per batch."""

from __future__ import annotations

import asyncio
import os
from typing import Any

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


async def _batch(kafka: MemoryKafka, topic: topics.Topic[Any], *values: bytes) -> None:
    """One fetch of ``values`` (FastStream's batch publish reaches a batch subscriber whole)."""
    await kafka.broker.publish_batch(*values, topic=kafka.settings.topic(topic.name))


def _raw(*events: AuditRequestEvent | NetboxSyncRequested) -> list[bytes]:
    return [e.model_dump_json().encode() for e in events]


async def test_the_handler_takes_the_batch_in_order_then_one_commit() -> None:
    kafka = MemoryKafka(service="audit")
    got: list[list[AuditRequestEvent]] = []

    async def handler(events: list[AuditRequestEvent]) -> None:
        assert kafka.commits == len(got)  # the side effect comes before the commit
        got.append(events)

    group = kafka.consumer.subscribe_batch(topics.AUDIT_EVENTS, handler, max_records=50)
    assert group == "mem.audit"
    events = [_audit(f"/{i}") for i in range(5)]
    lone = _audit("/alone")
    async with kafka.running():
        await _batch(kafka, topics.AUDIT_EVENTS, *_raw(*events))
        await kafka.bus.publish(lone)  # a record on its own is a batch of one
    assert got == [events, [lone]] and all(type(e) is AuditRequestEvent for e in got[0])
    assert kafka.commits == 2 and kafka.consumer.processed == 6 and not kafka.parked
    consumed = [s for s in kafka.resets.seen if s[0] == "consumed:mem.audit"]
    assert len(consumed) == 6  # every record's offset is observed


async def test_a_record_that_does_not_decode_is_parked_alone_and_the_batch_goes_on() -> None:
    kafka = MemoryKafka(service="audit")
    got: list[list[AuditRequestEvent]] = []

    async def handler(events: list[AuditRequestEvent]) -> None:
        got.append(events)

    kafka.consumer.subscribe_batch(topics.AUDIT_EVENTS, handler)
    first, last = _audit("/first"), _audit("/last")
    wrong_shape = b'{"type": "audit.request", "id": "x"}'
    async with kafka.running():
        await _batch(
            kafka, topics.AUDIT_EVENTS, *_raw(first), b"\x00not json", wrong_shape, *_raw(last)
        )
    assert got == [[first, last]]
    assert [p.value for p in kafka.parked] == [b"\x00not json", wrong_shape]
    for parked in kafka.parked:
        assert parked.headers["x-meshq-error-kind"] == "invalid"
        assert parked.headers["x-meshq-original-topic"] == topics.AUDIT_EVENTS.name
        assert parked.headers["x-meshq-consumer-group"] == "mem.audit"
        assert "ValidationError" in parked.headers["x-meshq-error"]
    assert kafka.commits == 1 and kafka.consumer.processed == 2
    assert kafka.consumer.dead_lettered == 2


async def test_a_batch_of_nothing_but_garbage_is_parked_and_committed() -> None:
    kafka = MemoryKafka(service="audit")
    calls = 0

    async def handler(events: list[AuditRequestEvent]) -> None:
        nonlocal calls
        calls += 1

    kafka.consumer.subscribe_batch(topics.AUDIT_EVENTS, handler)
    async with kafka.running():
        await _batch(kafka, topics.AUDIT_EVENTS, b"{}", b"[]")
    assert calls == 0 and len(kafka.parked) == 2 and kafka.commits == 1
    assert kafka.consumer.processed == 0


async def test_until_stored_retries_the_whole_batch_and_ready_says_why() -> None:
    kafka = MemoryKafka(max_attempts=3)
    _, probe = kafka.consumer.probe()
    tries: list[list[str]] = []
    store_back = asyncio.Event()

    async def handler(events: list[NetboxSyncRequested]) -> None:
        tries.append([e.id for e in events])
        if not store_back.is_set():
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")

    policy = FailurePolicy.until_stored(max_delay_s=0.01)
    kafka.consumer.subscribe_batch(topics.NETBOX_SYNC_REQUESTED, handler, policy=policy)
    events = [_sync(), _sync(), _sync()]
    async with kafka.running():
        task = asyncio.create_task(_batch(kafka, topics.NETBOX_SYNC_REQUESTED, *_raw(*events)))
        while len(tries) < 10:  # far past MESHQ_KAFKA_MAX_ATTEMPTS: still waiting
            await asyncio.sleep(0.005)
        assert not task.done() and kafka.commits == 0 and not kafka.parked
        with pytest.raises(ConnectionError, match=r"waits at offset 0 \(event .* and 2 more\)"):
            await probe()
        (waiting,) = kafka.consumer.waiting.values()
        assert waiting.event_id == events[0].id and waiting.records == 3
        store_back.set()
        await asyncio.wait_for(task, 5)
    await probe()  # ready again
    assert all(t == [e.id for e in events] for t in tries)  # the whole batch, every time
    assert kafka.commits == 1 and not kafka.parked and kafka.consumer.waits_recovered == 1


async def test_a_permanent_error_splits_the_batch_and_parks_only_its_event() -> None:
    kafka = MemoryKafka(max_attempts=5)
    handed: list[list[str]] = []
    done: list[str] = []

    async def handler(events: list[NetboxSyncRequested]) -> None:
        handed.append([e.data.direction for e in events])
        if any(e.data.direction == "push" for e in events):
            raise ValueError("malformed")
        done.extend(e.id for e in events)

    policy = FailurePolicy.until_stored(permanent=lambda e: isinstance(e, ValueError))
    kafka.consumer.subscribe_batch(topics.NETBOX_SYNC_REQUESTED, handler, policy=policy)
    before, poison, after = _sync("pull"), _sync("push"), _sync("pull")
    async with kafka.running():
        await _batch(kafka, topics.NETBOX_SYNC_REQUESTED, *_raw(before, poison, after))
    # the batch once, then each event alone, in order
    assert handed == [["pull", "push", "pull"], ["pull"], ["push"], ["pull"]]
    assert done == [before.id, after.id]
    (parked,) = kafka.parked
    assert parked.headers["x-meshq-error-kind"] == "permanent"
    assert poison.id.encode() in parked.value
    assert kafka.commits == 1 and kafka.consumer.dead_lettered == 1


async def test_dead_letter_policy_spends_its_tries_on_the_batch_then_on_each_event() -> None:
    kafka = MemoryKafka(max_attempts=3)
    attempts: dict[str, int] = {}

    async def handler(events: list[NetboxSyncRequested]) -> None:
        for e in events:
            attempts[e.id] = attempts.get(e.id, 0) + 1
        if any(e.data.direction == "push" for e in events):
            raise RuntimeError("NetBox answered 502")

    kafka.consumer.subscribe_batch(topics.NETBOX_SYNC_REQUESTED, handler)
    poison, fine = _sync("push"), _sync("pull")
    async with kafka.running():
        await _batch(kafka, topics.NETBOX_SYNC_REQUESTED, *_raw(poison, fine))
    assert attempts == {poison.id: 3 + 3, fine.id: 3 + 1}
    (parked,) = kafka.parked
    assert parked.headers["x-meshq-error-kind"] == "failed"
    assert "NetBox answered 502" in parked.headers["x-meshq-error"]
    assert kafka.commits == 1 and not kafka.consumer.waiting


async def test_the_failpoint_ends_the_process_after_the_batch_before_its_commit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Exited(BaseException):
        pass

    def exit_(code: int) -> None:
        raise Exited(code)

    monkeypatch.setattr(os, "_exit", exit_)
    kafka = MemoryKafka(failpoints="consumer.before_commit")
    handled: list[str] = []

    async def handler(events: list[NetboxSyncRequested]) -> None:
        handled.extend(e.id for e in events)

    kafka.consumer.subscribe_batch(topics.NETBOX_SYNC_REQUESTED, handler)
    events = [_sync(), _sync()]
    async with kafka.running():
        with pytest.raises(Exited) as exited:
            await _batch(kafka, topics.NETBOX_SYNC_REQUESTED, *_raw(*events))
        # a batch of records that do not decode is parked and committed: no failpoint there
        await _batch(kafka, topics.NETBOX_SYNC_REQUESTED, b"{}")
    assert exited.value.args == (FAILPOINT_EXIT,)
    assert handled == [e.id for e in events] and kafka.commits == 1 and len(kafka.parked) == 1


def test_a_batch_needs_room_for_a_record_and_a_fetch_time_to_wait() -> None:
    kafka = MemoryKafka()

    async def handler(events: list[NetboxSyncRequested]) -> None: ...

    with pytest.raises(ValueError, match="max_records"):
        kafka.consumer.subscribe_batch(topics.NETBOX_SYNC_REQUESTED, handler, max_records=0)
    with pytest.raises(ValueError, match="max_wait_ms"):  # an empty fetch must not spin
        kafka.consumer.subscribe_batch(topics.NETBOX_SYNC_REQUESTED, handler, max_wait_ms=0)
