"""Receipts for audit events: a producer reads ``meshq.audit.recorded`` and lets go of what the
audit log recorded.

:class:`RecordedWatcher` is a consumer without a consumer group, reading a batch at a time:
each producer process (each gateway pod) reads every partition of the topic, from its end at
start, and matches ``data.audit_event_id`` against the events its
:class:`~meshq_runtime.audit_buffer.AuditBuffer` still owes. The end at start is enough: what
the buffer re-sends after a start is announced again by the audit service, even when it was
recorded before.

It also watches the offsets it reads and the end of each partition: when they go backwards the
broker lost its log (an in-memory broker restarted) and it says so to the process's
:class:`~meshq_runtime.kafka.resets.LogResets`, whose listeners re-send what may have been lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Protocol

import structlog
from aiokafka import AIOKafkaConsumer
from network_discovery.contracts import topics
from network_discovery.contracts.events import AuditRequestEvent
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from meshq_runtime.audit_buffer import AuditBuffer, PublishMany
from meshq_runtime.kafka.broker import EventBus, OutgoingRecord
from meshq_runtime.kafka.resets import LogResets
from meshq_runtime.kafka.security import client_options
from meshq_runtime.settings import KafkaSettings

__all__ = [
    "AuditReceiptSettings",
    "Confirmable",
    "RecordedWatcher",
    "batch_publisher",
    "open_audit_buffer",
]

log = structlog.get_logger(__name__)


class AuditReceiptSettings(BaseSettings):
    """How long a producer waits for the audit log's receipt of an event before sending it
    again, and how many events it may owe at once (then it refuses calls, 503)."""

    model_config = SettingsConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    audit_confirm_timeout_s: float = Field(
        30.0,
        ge=0,
        alias="MESHQ_AUDIT_CONFIRM_TIMEOUT_S",
        description="Seconds before an audit event not yet recorded is published again "
        "(doubling per try, at most 10 minutes); 0 lets go of an event once the broker has it.",
    )
    audit_max_unconfirmed: int = Field(
        100_000,
        ge=1,
        alias="MESHQ_AUDIT_MAX_UNCONFIRMED",
        description="Audit events awaiting the audit log's receipt; more and calls get 503.",
    )
    audit_publish_batch: int = Field(
        500,
        ge=1,
        le=10_000,
        alias="MESHQ_AUDIT_PUBLISH_BATCH",
        description="Most audit events a producer publishes in one send.",
    )
    audit_publish_linger_ms: float = Field(
        5.0,
        ge=0,
        le=1000,
        alias="MESHQ_AUDIT_PUBLISH_LINGER_MS",
        description="Milliseconds a producer waits for more audit events before a send that "
        "would not be full (the answers never wait: their events are in the journal first).",
    )


class Confirmable(Protocol):
    def confirm(self, event_id: str) -> bool: ...


class RecordedWatcher:
    def __init__(
        self,
        settings: KafkaSettings,
        buffer: Confirmable,
        *,
        resets: LogResets,
        client_id: str = "meshq-audit-receipts",
    ) -> None:
        self._buffer = buffer
        self._resets = resets
        self._topic = settings.topic(topics.AUDIT_RECORDED.name)
        # A consumer of its own, read a batch at a time (one announcement per API call comes
        # back to every producer: each costs a lookup and nothing else). No group and no
        # commits: every process reads every partition, from its end at start. Its metadata
        # (the topic's partitions) is read again every 5 s, so that the partitions of a topic
        # the broker lost and created anew are read within seconds.
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            client_id=client_id,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            metadata_max_age_ms=5_000,
            **client_options(settings),
        )
        self._tasks: list[asyncio.Task[None]] = []
        #: Announcements read, and those that confirmed an event of this process.
        self.seen = 0
        self.matched = 0

    async def start(self, *, ready_timeout: float = 10.0) -> None:
        """Join the topic and fix the starting positions (its end) before returning, so that
        every announcement of an event published afterwards is read."""
        consumer = self._consumer
        await consumer.start()
        consumer.subscribe([self._topic])
        deadline = time.monotonic() + ready_timeout
        while not consumer.assignment() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)  # aiokafka signals no event when partitions are assigned
        for tp in consumer.assignment():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(consumer.position(tp), timeout=5.0)
        if not consumer.assignment():
            log.warning("audit.receipts_unassigned", topic=self._topic, waited_s=ready_timeout)
        self._tasks = [
            asyncio.create_task(self._read(), name="audit-receipts"),
            asyncio.create_task(self._watch_ends(), name="audit-receipts-ends"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self._consumer.stop()

    async def _read(self) -> None:
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=500, max_records=1000)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the broker away: the consumer reconnects by itself
                log.warning("audit.receipts_read_failed", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(1.0)
                continue
            for tp, records in batches.items():
                for record in records:
                    self._resets.observe("receipts", tp.topic, tp.partition, record.offset)
                    self._take(record.value)

    async def _watch_ends(self) -> None:
        """Every second, the end of each partition as the last fetch found it: lower than
        before means the broker lost its log, though no announcement came since."""
        consumer = self._consumer
        while True:
            for tp in consumer.assignment():
                end = consumer.highwater(tp)
                if end is not None:
                    self._resets.observe("receipts-end", tp.topic, tp.partition, int(end))
            await asyncio.sleep(1.0)

    def _take(self, value: bytes | None) -> None:
        self.seen += 1
        try:
            record: Any = json.loads(value or b"")
        except ValueError:
            return
        if not isinstance(record, dict) or record.get("type") != "audit.recorded":
            return
        data = record.get("data")
        event_id = data.get("audit_event_id") if isinstance(data, dict) else None
        if isinstance(event_id, str) and self._buffer.confirm(event_id):
            self.matched += 1


def batch_publisher(bus: EventBus) -> PublishMany:
    """Publish audit events as :class:`AuditBuffer` hands them over (each with its JSON), in
    one send whose acknowledgements are awaited together (:meth:`EventBus.publish_raw_many`)."""

    async def publish_many(
        items: Sequence[tuple[AuditRequestEvent, bytes]],
    ) -> tuple[int, BaseException | None]:
        records = [
            OutgoingRecord(
                topic=event.topic,
                key=event.key(),
                value=wire,
                headers={"content-type": "application/json", "x-meshq-type": event.type},
                correlation_id=event.correlation_id,
            )
            for event, wire in items
        ]
        acked, error = await bus.publish_raw_many(records)
        log.debug("audit.batch_published", events=len(records), acknowledged=acked)
        return acked, error

    return publish_many


async def open_audit_buffer(
    stack: AsyncExitStack,
    bus: EventBus,
    settings: KafkaSettings,
    receipts: AuditReceiptSettings,
    *,
    directory: Path,
    capacity: int,
    confirming: Callable[[], bool] | None = None,
) -> AuditBuffer:
    """A started audit buffer whose journal is ``directory/audit-spool.jsonl`` and, unless
    receipts are off, the watcher of ``meshq.audit.recorded`` that lets go of its events; both
    are stopped by ``stack`` (the buffer first). ``confirming`` says whether the audit log
    records at all (the plan's ``audit_logging``): without it nothing would ever confirm."""
    timeout = receipts.audit_confirm_timeout_s or None
    audit = AuditBuffer(
        bus.publish,
        capacity=capacity,
        spool=directory / "audit-spool.jsonl",
        dead_letter=directory / "audit-undeliverable.jsonl",
        confirm_timeout=timeout,
        confirming=confirming,
        max_unconfirmed=receipts.audit_max_unconfirmed,
        publish_many=batch_publisher(bus),
        batch_max=receipts.audit_publish_batch,
        linger=receipts.audit_publish_linger_ms / 1000,
    )
    if timeout is not None:
        watcher = RecordedWatcher(settings, audit, resets=bus.resets)
        await watcher.start()
        stack.push_async_callback(watcher.stop)
        bus.resets.listen(audit.republish)
    await audit.start()
    stack.push_async_callback(audit.stop)
    return audit
