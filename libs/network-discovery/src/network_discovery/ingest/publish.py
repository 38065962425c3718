"""Publish a snapshot on ``meshq.ingest.snapshots`` and, if asked, wait for graph-engine's answer.

A snapshot whose message would exceed the broker's limit (1 MiB by default) is split into
chunks of at most ``max_message_bytes``: each chunk carries its index, the count and the
SHA-256 of the whole, all share the snapshot's key (so they keep their order on one
partition), and graph-engine stores them until the last one arrives, then checks the hash and
applies the snapshot whole.

Every client connects with the ``MESHQ_KAFKA_*`` security settings (TLS, SASL) the services
use: pass ``security`` (a service passes its own settings), or they are read from the
environment when the call is made.

The broker may be unreachable, or go away while the snapshot is sent or its answer awaited:
connecting is bounded by ``connect_timeout`` seconds, and while publishing and waiting the
broker is probed; when it has not answered for ``connect_timeout`` seconds the call stops
with :class:`BrokerUnavailable`, whose message says what happened to the snapshot and what to
do, instead of waiting out the whole ``timeout``.
"""

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
from network_discovery.ingest._broker import (
    BrokerUnavailable,
    connect,
    start,
    stop,
    while_broker_answers,
)
from network_discovery.kafka_security import KafkaSecuritySettings, client_options
from network_discovery.model import Snapshot

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_MESSAGE_BYTES",
    "BrokerUnavailable",
    "IngestOutcome",
    "event_publisher",
    "publish_snapshot",
    "snapshot_producer",
    "split_snapshot",
]

#: Leaves room under Kafka's default 1 MiB message limit for the envelope and headers.
DEFAULT_MAX_MESSAGE_BYTES = 900_000
#: Seconds the broker may take to answer a connection (and stay silent while we wait).
DEFAULT_CONNECT_TIMEOUT = 10.0


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


def _security(security: KafkaSecuritySettings | None) -> dict[str, Any]:
    """aiokafka's security keyword arguments, from ``security`` or else the environment."""
    return client_options(security if security is not None else KafkaSecuritySettings())


def snapshot_producer(
    bootstrap: str,
    *,
    security: KafkaSecuritySettings | None = None,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
) -> AIOKafkaProducer:
    """The producer snapshots go out on (not started): every replica acknowledges."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        max_request_size=max(1_048_576, max_message_bytes + 65_536),
        **_security(security),
    )


@asynccontextmanager
async def event_publisher(
    bootstrap: str, topic_prefix: str = "", *, security: KafkaSecuritySettings | None = None
) -> AsyncIterator[Callable[[EventBase], Awaitable[None]]]:
    """``publish(event)``: each event on its topic (with the prefix), keyed by its subject,
    acknowledged by every replica before it returns."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **_security(security))
    await start(producer)

    async def publish(event: EventBase) -> None:
        await producer.send_and_wait(
            topic_prefix + event.topic,
            event.model_dump_json().encode(),
            key=event.key(),
            headers=[("content-type", b"application/json"), ("x-meshq-type", event.type.encode())],
        )

    try:
        yield publish
    finally:
        await producer.stop()


async def _tail(
    bootstrap: str,
    topic: str,
    options: dict[str, Any] | None = None,
    *,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> AIOKafkaConsumer:
    """A consumer positioned at the end of ``topic`` (so it sees only what comes next)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None, **(options or {})
    )
    await connect(consumer, bootstrap, connect_timeout)

    async def position() -> None:
        partitions = consumer.partitions_for_topic(topic)
        if partitions is None:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_end(*assigned)
        for tp in assigned:
            await consumer.position(tp)

    try:
        await asyncio.wait_for(position(), timeout=connect_timeout)
    except BaseException as exc:
        await stop(consumer)
        if isinstance(exc, TimeoutError):
            raise BrokerUnavailable(
                f"the Kafka broker at {bootstrap} did not give the offsets of {topic} within "
                f"{connect_timeout:g} s"
            ) from None
        raise
    return consumer


async def publish_snapshot(
    snapshot: Snapshot,
    *,
    bootstrap: str,
    topic_prefix: str = "",
    source: str = "meshq-cli",
    wait: bool = False,
    timeout: float = 300.0,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    progress: Callable[[int, int], None] | None = None,
    security: KafkaSecuritySettings | None = None,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> IngestOutcome:
    """Publish ``snapshot`` (in chunks when it is large) and, with ``wait``, return once
    graph-engine has reported on it. :class:`BrokerUnavailable` when the broker cannot be
    reached within ``connect_timeout`` or stops answering for that long; ``TimeoutError`` when
    graph-engine has not reported within ``timeout``."""
    if security is None:
        security = KafkaSecuritySettings()
    options = _security(security)
    correlation_id = new_event_id()
    messages = split_snapshot(
        snapshot, correlation_id=correlation_id, source=source, max_message_bytes=max_message_bytes
    )
    changed_topic = topic_prefix + topics.TOPOLOGY_CHANGED.name
    guard: dict[str, Any] = {
        "bootstrap": bootstrap,
        "options": options,
        "connect_timeout": connect_timeout,
    }
    tail = (
        await _tail(bootstrap, changed_topic, options, connect_timeout=connect_timeout)
        if wait
        else None
    )
    try:
        producer = snapshot_producer(
            bootstrap, security=security, max_message_bytes=max_message_bytes
        )
        await connect(producer, bootstrap, connect_timeout)
        try:
            await while_broker_answers(
                _send_all(producer, messages, topic_prefix, progress),
                **guard,
                lost=f"snapshot {snapshot.snapshot_id} may be only partly published; "
                "run the ingest again once the broker is back",
            )
        finally:
            await stop(producer)
        result = None
        if tail is not None:
            result = await while_broker_answers(
                _await_result(tail, snapshot.snapshot_id, correlation_id, timeout),
                **guard,
                lost=f"snapshot {snapshot.snapshot_id} was published (correlation id "
                f"{correlation_id}) but graph-engine's answer cannot arrive; once the broker "
                "is back, see whether it was applied with 'meshq snapshots'",
            )
    finally:
        if tail is not None:
            await stop(tail)
    return IngestOutcome(snapshot.snapshot_id, correlation_id, len(messages), result)


async def _send_all(
    producer: AIOKafkaProducer,
    messages: list[SnapshotSubmitted | SnapshotChunk],
    topic_prefix: str,
    progress: Callable[[int, int], None] | None,
) -> None:
    for i, message in enumerate(messages, start=1):
        await producer.send_and_wait(
            topic_prefix + topics.INGEST_SNAPSHOTS.name,
            message.model_dump_json().encode(),
            key=message.key(),
            headers=[
                ("content-type", b"application/json"),
                ("x-meshq-type", message.type.encode()),
            ],
        )
        if progress:
            progress(i, len(messages))


async def _await_result(
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
                    return event
        await asyncio.sleep(0)
    raise TimeoutError(
        f"graph-engine did not report on snapshot {snapshot_id} within {timeout:.0f}s "
        "(is the graph engine running? its log is in the data directory's logs/)"
    )
