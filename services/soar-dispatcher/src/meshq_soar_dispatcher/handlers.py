"""Kafka handlers of the SOAR dispatcher (thin)."""

from __future__ import annotations

from meshq_runtime.kafka import EventConsumer
from network_discovery.contracts import topics
from network_discovery.contracts.events import AuditRecorded

from meshq_soar_dispatcher.service import Dispatcher

__all__ = ["register"]


def register(consumer: EventConsumer, dispatcher: Dispatcher) -> None:
    async def on_recorded(event: AuditRecorded) -> None:
        await dispatcher.handle(event)

    consumer.subscribe(topics.AUDIT_RECORDED.name, on_recorded)
