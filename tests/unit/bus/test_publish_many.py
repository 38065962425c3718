"""``EventBus.publish_raw_many``: every record is handed to the producer before any
acknowledgement is awaited, in order; the count of acknowledged records ends at the first one
that failed, and a record the producer refuses stops the sending."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from meshq_runtime.kafka import EventBus, LogResets
from meshq_runtime.kafka.broker import OutgoingRecord
from meshq_runtime.settings import KafkaSettings


class _Producer:
    def __init__(self, *, fail: int | None = None, refuse: int | None = None) -> None:
        self.sent: list[tuple[str, bytes, dict[str, Any]]] = []
        self.futures: list[asyncio.Future[Any]] = []
        self.fail, self.refuse = fail, refuse

    async def publish(self, value: bytes, *, topic: str, no_confirm: bool, **kw: Any) -> Any:
        assert no_confirm
        if len(self.sent) == self.refuse:
            raise KafkaTimeoutError("buffer full")
        self.sent.append((topic, value, kw))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.futures.append(future)
        return future

    def acknowledge(self) -> None:
        """Answer every record only once all were handed over (what a batch does)."""
        for i, future in enumerate(self.futures):
            if i == self.fail:
                future.set_exception(ConnectionError("not acknowledged"))
            else:
                future.set_result(SimpleNamespace(partition=0, offset=100 + i))


class KafkaTimeoutError(Exception):
    pass


def _records(n: int) -> list[OutgoingRecord]:
    return [
        OutgoingRecord("meshq.audit.recorded", b"k", f"v{i}".encode(), {"h": "1"}, f"c{i}")
        for i in range(n)
    ]


async def _publish(producer: _Producer, n: int) -> tuple[int, BaseException | None, LogResets]:
    resets = LogResets()
    bus = EventBus(producer, KafkaSettings(MESHQ_KAFKA_TOPIC_PREFIX="p."), resets=resets)  # type: ignore[arg-type]
    task = asyncio.create_task(bus.publish_raw_many(_records(n)))
    while len(producer.sent) < min(n, producer.refuse if producer.refuse is not None else n):
        await asyncio.sleep(0)
    assert not task.done()  # nothing acknowledged yet: all of them were handed over first
    producer.acknowledge()
    sent, error = await task
    return sent, error, resets


async def test_all_handed_over_in_order_then_acknowledged_together() -> None:
    producer = _Producer()
    sent, error, resets = await _publish(producer, 5)
    assert (sent, error) == (5, None)
    assert [v for _, v, _ in producer.sent] == [f"v{i}".encode() for i in range(5)]
    topic, _, kw = producer.sent[0]
    assert topic == "p.meshq.audit.recorded"
    assert kw == {"key": b"k", "headers": {"h": "1"}, "correlation_id": "c0"}
    assert resets.count == 0


async def test_the_count_ends_at_the_first_record_not_acknowledged() -> None:
    producer = _Producer(fail=2)
    sent, error, _ = await _publish(producer, 5)
    assert sent == 2 and isinstance(error, ConnectionError)
    assert len(producer.sent) == 5  # the later ones went out, and will go again, in order


async def test_a_refused_record_stops_the_sending() -> None:
    producer = _Producer(refuse=3)
    sent, error, _ = await _publish(producer, 6)
    assert sent == 3 and isinstance(error, KafkaTimeoutError)
    assert len(producer.sent) == 3
