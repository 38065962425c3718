"""Snapshots straight onto ``meshq.ingest.snapshots``, the way a team that produces on our
topics would (the contract ``meshq contracts export`` publishes): whole, or in chunks past
the broker's message limit, optionally waiting for graph-engine's answer on
``meshq.topology.changed``. The product itself submits through the gateway; these tests hold
graph-engine to the topic contract as well."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from network_discovery.contracts import topics
from network_discovery.contracts.envelope import EventBase, new_event_id
from network_discovery.contracts.events import (
    ADAPTERS,
    SnapshotChunk,
    SnapshotChunkData,
    SnapshotRejected,
    SnapshotSubmitted,
    TopologyChanged,
)
from network_discovery.model import Snapshot

__all__ = [
    "IngestOutcome",
    "await_result",
    "event_publisher",
    "publish_snapshot",
    "split_snapshot",
    "tail",
]


@dataclass(frozen=True)
class IngestOutcome:
    snapshot_id: str
    correlation_id: str
    messages: int
    result: TopologyChanged | SnapshotRejected | None = None

    @property
    def rejected(self) -> bool:
        return isinstance(self.result, SnapshotRejected)


def split_snapshot(
    snapshot: Snapshot, *, correlation_id: str, source: str, max_message_bytes: int
) -> list[SnapshotSubmitted | SnapshotChunk]:
    """One ``ingest.snapshot`` event, or chunks of its JSON (each with the index, the count
    and the SHA-256 of the whole) when it would not fit in ``max_message_bytes``."""
    whole = SnapshotSubmitted(
        source=source, subject=snapshot.source, correlation_id=correlation_id, data=snapshot
    )
    if len(whole.model_dump_json()) <= max_message_bytes:
        return [whole]
    raw = snapshot.model_dump_json().encode()
    digest = hashlib.sha256(raw).hexdigest()
    piece = max(1024, (max_message_bytes - 2048) * 3 // 4)  # base64 grows by 4/3
    parts = [raw[i : i + piece] for i in range(0, len(raw), piece)]
    return [
        SnapshotChunk(
            source=source,
            subject=snapshot.source,
            correlation_id=correlation_id,
            data=SnapshotChunkData(
                snapshot_id=snapshot.snapshot_id,
                index=i,
                count=len(parts),
                sha256=digest,
                content=base64.b64encode(part).decode(),
            ),
        )
        for i, part in enumerate(parts)
    ]


@asynccontextmanager
async def event_publisher(
    bootstrap: str, topic_prefix: str = ""
) -> AsyncIterator[Callable[[EventBase], Awaitable[None]]]:
    """``publish(event)`` on its topic (with the prefix), keyed by its subject."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()

    async def publish(event: EventBase) -> None:
        await producer.send_and_wait(
            topic_prefix + event.topic, event.model_dump_json().encode(), key=event.key()
        )

    try:
        yield publish
    finally:
        await producer.stop()


async def tail(bootstrap: str, topic: str) -> AIOKafkaConsumer:
    """A consumer positioned at the end of ``topic`` (it sees only what comes next)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    partitions = consumer.partitions_for_topic(topic)
    deadline = time.monotonic() + 30
    while not partitions and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        await consumer.topics()  # refreshes the metadata
        partitions = consumer.partitions_for_topic(topic)
    assigned = [TopicPartition(topic, p) for p in sorted(partitions or ())]
    consumer.assign(assigned)
    await consumer.seek_to_end(*assigned)
    for tp in assigned:
        await consumer.position(tp)
    return consumer


async def await_result(
    consumer: AIOKafkaConsumer, snapshot_id: str, correlation_id: str, timeout: float
) -> TopologyChanged | SnapshotRejected:
    adapter = ADAPTERS[topics.TOPOLOGY_CHANGED.name]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batches: dict[Any, Any] = await consumer.getmany(timeout_ms=500)
        for records in batches.values():
            for record in records:
                try:
                    event = adapter.validate_json(record.value)
                except ValueError:
                    continue
                if event.data.snapshot_id == snapshot_id and event.correlation_id == correlation_id:
                    return event  # type: ignore[no-any-return]
    raise TimeoutError(f"graph-engine did not report on snapshot {snapshot_id} in {timeout:g}s")


async def publish_snapshot(
    snapshot: Snapshot,
    *,
    bootstrap: str,
    topic_prefix: str = "",
    source: str = "tests",
    wait: bool = False,
    timeout: float = 90.0,
    max_message_bytes: int = 900_000,
) -> IngestOutcome:
    correlation_id = new_event_id()
    messages = split_snapshot(
        snapshot, correlation_id=correlation_id, source=source, max_message_bytes=max_message_bytes
    )
    follow = await tail(bootstrap, topic_prefix + topics.TOPOLOGY_CHANGED.name) if wait else None
    try:
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            max_request_size=max(1_048_576, max_message_bytes + 65_536),
        )
        await producer.start()
        try:
            for message in messages:
                await producer.send_and_wait(
                    topic_prefix + topics.INGEST_SNAPSHOTS.name,
                    message.model_dump_json().encode(),
                    key=message.key(),
                )
        finally:
            await producer.stop()
        result = None
        if follow is not None:
            result = await await_result(follow, snapshot.snapshot_id, correlation_id, timeout)
    finally:
        if follow is not None:
            await follow.stop()
    return IngestOutcome(snapshot.snapshot_id, correlation_id, len(messages), result)
