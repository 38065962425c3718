"""Kafka handlers of the audit service (thin: decode is done by the consumer).

The chain must not skip: while PostgreSQL is away the consumer waits (retrying with backoff,
``/ready`` saying so) instead of parking events; only an event that can never be recorded
(:func:`~meshq_audit.service.unrecordable`) is dead-lettered, as an alert.
"""

from __future__ import annotations

from meshq_runtime.kafka import EventConsumer, FailurePolicy
from network_discovery.contracts import topics
from network_discovery.contracts.events import AuditRequestEvent

from meshq_audit.service import AuditService, unrecordable

__all__ = ["POLICY", "register"]

#: Retry until the store is back; dead-letter only what can never be recorded.
POLICY = FailurePolicy.until_stored(permanent=unrecordable, max_delay_s=5.0, alert_after_s=30.0)


def register(consumer: EventConsumer, service: AuditService) -> None:
    async def on_audit_event(event: AuditRequestEvent) -> None:
        await service.record(event)

    consumer.subscribe(topics.AUDIT_EVENTS, on_audit_event, policy=POLICY)
