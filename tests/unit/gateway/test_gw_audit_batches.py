"""Audit events published in batches: one send for the events queued together, in order; what
the broker did not acknowledge is sent again from the first such event (at least once, order
kept); an event the broker can never take is set aside without holding the others; a lone
event waits at most the linger; the journal keeps every event until it is published."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from pathlib import Path

from meshq_runtime.audit_buffer import AuditBuffer
from network_discovery.contracts.events import AuditRequestData, AuditRequestEvent


def _event(n: int, params: dict[str, object] | None = None) -> AuditRequestEvent:
    data = AuditRequestData(
        principal="p",
        auth_method="api_key",
        method="GET",
        path=f"/q/{n}",
        status=200,
        elapsed_ms=1,
        params=params or {},
    )
    return AuditRequestEvent(source="query-gateway", data=data)


class MessageSizeTooLargeError(Exception):
    """What the broker answers for a record it will never take (matched by name)."""


class Broker:
    """Takes batches; ``acknowledge`` says how many of the next batch it acknowledges (then it
    fails the rest with ``error``); events whose path is in ``never`` are refused for good."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.single: list[str] = []
        self.acknowledge: list[int] = []
        self.error: Exception = ConnectionError("broker away")
        self.never: set[str] = set()

    async def publish_many(
        self, items: Sequence[tuple[AuditRequestEvent, bytes]]
    ) -> tuple[int, BaseException | None]:
        await asyncio.sleep(0.005)  # a round trip
        paths = [event.data.path for event, _ in items]
        for event, wire in items:
            assert json.loads(wire)["id"] == event.id  # what is sent is the event
        self.batches.append(paths)
        for n, path in enumerate(paths):
            if path in self.never:
                return n, MessageSizeTooLargeError("too large")
        if self.acknowledge:
            count = self.acknowledge.pop(0)
            if count < len(paths):
                return count, self.error
        return len(paths), None

    async def publish(self, event: AuditRequestEvent) -> None:
        if event.data.path in self.never and event.data.params.get("_omitted") is None:
            raise MessageSizeTooLargeError("too large")
        self.single.append(event.data.path)


def _buffer(broker: Broker, **kw: object) -> AuditBuffer:
    return AuditBuffer(
        broker.publish,
        publish_many=broker.publish_many,
        max_backoff=0.02,
        **kw,  # type: ignore[arg-type]
    )


async def test_queued_events_go_out_together_in_order() -> None:
    broker = Broker()
    buffer = _buffer(broker, batch_max=50, linger=0.01)
    await buffer.start()
    for n in range(120):
        buffer.submit(_event(n))
    assert await buffer.drained(5)
    sent = [p for batch in broker.batches for p in batch]
    assert sent == [f"/q/{n}" for n in range(120)]
    assert [len(b) for b in broker.batches] == [50, 50, 20]
    assert buffer.sends == 3 and buffer.delivered == 120 and buffer.unconfirmed == 0
    await buffer.stop()


async def test_what_was_not_acknowledged_is_sent_again_in_order() -> None:
    broker = Broker()
    broker.acknowledge = [3, 0]  # the first batch: 3 of 10; the next: none at all
    buffer = _buffer(broker, batch_max=10)
    for n in range(10):
        buffer.submit(_event(n))
    await buffer.start()
    assert await buffer.drained(5)
    assert broker.batches[0] == [f"/q/{n}" for n in range(10)]
    assert broker.batches[1] == [f"/q/{n}" for n in range(3, 10)]
    assert broker.batches[2] == [f"/q/{n}" for n in range(3, 10)]
    assert len(broker.batches) == 3
    assert buffer.delivered == 10 and buffer.failures == 2 and buffer.unconfirmed == 0
    await buffer.stop()


async def test_an_event_the_broker_never_takes_does_not_hold_the_others(tmp_path: Path) -> None:
    broker = Broker()
    broker.never = {"/q/2"}
    kept = tmp_path / "undeliverable.jsonl"
    buffer = _buffer(broker, batch_max=10, dead_letter=kept)
    for n in range(5):
        buffer.submit(_event(n, {"blob": "x" * 10}))
    await buffer.start()
    assert await buffer.drained(5)
    # 0 and 1 acknowledged; 2 slimmed and sent alone; 3 and 4 in the next batch
    assert broker.batches[0] == ["/q/0", "/q/1", "/q/2", "/q/3", "/q/4"]
    assert broker.single == ["/q/2"]
    assert broker.batches[1] == ["/q/3", "/q/4"]
    assert buffer.undeliverable == 0 and buffer.delivered == 5 and buffer.unconfirmed == 0
    await buffer.stop()


async def test_a_lone_event_waits_at_most_the_linger() -> None:
    broker = Broker()
    buffer = _buffer(broker, batch_max=500, linger=0.05)
    await buffer.start()
    started = time.monotonic()
    buffer.submit(_event(1))
    assert await buffer.drained(2)
    took = time.monotonic() - started
    assert broker.batches == [["/q/1"]]
    assert 0.04 <= took < 0.5, took
    await buffer.stop()


async def test_the_journal_keeps_events_until_published(tmp_path: Path) -> None:
    spool = tmp_path / "spool.jsonl"
    broker = Broker()
    broker.acknowledge = [0] * 1000  # the broker takes nothing for now
    first = _buffer(broker, spool=spool, batch_max=10)
    await first.start()
    for n in range(25):
        first.submit(_event(n))
    lines = spool.read_text().splitlines()  # in the journal the moment they were submitted
    assert [json.loads(line)["data"]["path"] for line in lines] == [f"/q/{n}" for n in range(25)]
    assert not await first.drained(0.2)
    await first.stop(flush_timeout=0.1)
    # a restart sends them all, in order, in batches
    second_broker = Broker()
    second = _buffer(second_broker, spool=spool, batch_max=10)
    await second.start()
    assert await second.drained(5)
    sent = [p for batch in second_broker.batches for p in batch]
    assert sent == [f"/q/{n}" for n in range(25)]
    assert second.sends == 3
    await second.stop()
    assert spool.read_text() == ""
