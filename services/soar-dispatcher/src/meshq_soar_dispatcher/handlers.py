"""Kafka handlers of the SOAR dispatcher (thin).

Webhook failures are the dispatcher's own business (retries, dead letters); what makes the
handler fail is its PostgreSQL (outcomes, dead letters) being away. The consumer then waits
for it rather than parking the announcement, so no matching call loses its webhook; only an
announcement PostgreSQL refuses for its content is dead-lettered (an alert).
"""

from __future__ import annotations

from meshq_runtime.kafka import EventConsumer, FailurePolicy
from meshq_runtime.postgres import refused_data
from network_discovery.contracts import topics
from network_discovery.contracts.events import AlertChanged, AuditRecorded

from meshq_soar_dispatcher.service import SERVICE, Dispatcher

__all__ = ["POLICY", "register"]

POLICY = FailurePolicy.until_stored(permanent=refused_data)


def register(consumer: EventConsumer, dispatcher: Dispatcher) -> None:
    async def on_recorded(event: AuditRecorded) -> None:
        await dispatcher.handle(event)

    async def on_alert(event: AlertChanged) -> None:
        await dispatcher.handle_alert(event)

    consumer.subscribe(topics.AUDIT_RECORDED, on_recorded, policy=POLICY)
    # its own group: one group with two subscriptions rebalances itself on every start
    consumer.subscribe(topics.ALERTS_EVENTS, on_alert, policy=POLICY, group=f"{SERVICE}.alerts")
