"""Kafka handlers of the audit service (thin: decode is done by the consumer).

Events are taken a batch at a time (:meth:`~meshq_runtime.kafka.EventConsumer.subscribe_batch`):
each batch goes to the chain in one transaction, and the offsets are committed once after it.

The chain must not skip: while PostgreSQL is away the consumer waits (retrying the batch with
backoff, ``/ready`` saying so) instead of parking events; only an event that can never be
recorded (:func:`~meshq_audit.service.unrecordable`) is dead-lettered, as an alert — the batch
it came in is then recorded one event at a time, so that it is parked alone.
"""

from __future__ import annotations

from meshq_runtime.kafka import EventConsumer, FailurePolicy
from network_discovery.contracts import topics
from network_discovery.contracts.events import AuditRequestEvent

from meshq_audit.service import AuditService, unrecordable

__all__ = ["MAX_RECORDS", "MAX_WAIT_MS", "POLICY", "register"]

#: Retry until the store is back; dead-letter only what can never be recorded.
POLICY = FailurePolicy.until_stored(permanent=unrecordable, max_delay_s=5.0, alert_after_s=30.0)
#: The most events appended in one transaction: bursts of thousands of events go through in
#: a few transactions, while a batch is still small enough that the relay publishes the
#: announcements of one while the next is recorded.
MAX_RECORDS = 1000
#: How long a fetch waits for a first event (a fetch never waits to fill a batch); an idle
#: consumer takes up to this long to see the next event.
MAX_WAIT_MS = 20


def register(
    consumer: EventConsumer,
    service: AuditService,
    *,
    max_records: int = MAX_RECORDS,
    max_wait_ms: int = MAX_WAIT_MS,
) -> None:
    async def on_audit_events(events: list[AuditRequestEvent]) -> None:
        await service.record_batch(events)

    consumer.subscribe_batch(
        topics.AUDIT_EVENTS,
        on_audit_events,
        max_records=max_records,
        max_wait_ms=max_wait_ms,
        policy=POLICY,
    )
