"""Kafka handlers of the audit service (thin: decode is done by the consumer)."""

from __future__ import annotations

from meshq_runtime.kafka import EventConsumer
from network_discovery.contracts import topics
from network_discovery.contracts.events import AuditRequestEvent

from meshq_audit.service import AuditService

__all__ = ["register"]


def register(consumer: EventConsumer, service: AuditService) -> None:
    async def on_audit_event(event: AuditRequestEvent) -> None:
        await service.record(event)

    consumer.subscribe(topics.AUDIT_EVENTS.name, on_audit_event)
