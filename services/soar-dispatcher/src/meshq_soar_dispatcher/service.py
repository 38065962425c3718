"""Evaluate SOAR rules over recorded audit events and deliver (or dead-letter) the webhooks."""

from __future__ import annotations

import os
from typing import Any, Protocol

import structlog
from meshq_runtime.kafka import EventBus
from network_discovery.contracts.envelope import EventBase
from network_discovery.contracts.events import (
    AuditRecorded,
    SoarDeadLettered,
    SoarDispatchData,
    SoarDispatched,
)

from meshq_soar_dispatcher.delivery import Outcome, WebhookClient, idempotency_key, triggered_at
from meshq_soar_dispatcher.rules import Rule

__all__ = ["FAILPOINT_EXIT", "SERVICE", "Dispatcher", "build_payload"]

SERVICE = "soar-dispatcher"
FAILPOINT_EXIT = 75
log = structlog.get_logger(__name__)


class Gate(Protocol):
    def allows(self, feature: str) -> bool: ...


def build_payload(rule: Rule, event: AuditRecorded) -> dict[str, Any]:
    request = event.data.request
    return {
        "rule_name": rule.label,
        "query": request.query,
        "severity": rule.severity,
        "triggered_at": triggered_at(),
        "matched_rows": request.row_count or 0,
        "sample_data": list(request.sample_rows),
    }


class Dispatcher:
    def __init__(
        self,
        rules: list[Rule],
        client: WebhookClient | None,
        bus: EventBus,
        gate: Gate,
        *,
        failpoint: bool = False,
    ) -> None:
        self._rules, self._client, self._bus, self._gate = rules, client, bus, gate
        self._failpoint = failpoint
        self.delivered = 0
        self.dead_lettered = 0

    @property
    def configured(self) -> bool:
        return self._client is not None

    def matching(self, event: AuditRecorded) -> list[Rule]:
        request = event.data.request
        facts = {
            "row_count": request.row_count,
            "status": request.status,
            "elapsed_ms": request.elapsed_ms,
        }
        return [rule for rule in self._rules if rule.applies(request.query, facts)]

    async def handle(self, event: AuditRecorded) -> None:
        rules = self.matching(event)
        if not rules:
            return
        if not self._gate.allows("soar_webhooks"):
            log.warning("soar.unlicensed", rules=[r.label for r in rules])
            return
        if self._client is None:
            log.warning("soar.no_webhook_url", rules=[r.label for r in rules])
            return
        for rule in rules:
            await self.dispatch(rule, event, build_payload(rule, event))

    async def dispatch(
        self, rule: Rule, event: AuditRecorded, payload: dict[str, Any], *, key: str | None = None
    ) -> Outcome:
        key = key or idempotency_key(event.data.audit_event_id, rule.label)
        return await self.deliver(
            event,
            label=rule.label,
            severity=rule.severity,
            audit_event_id=event.data.audit_event_id,
            payload=payload,
            key=key,
        )

    async def replay(self, dead: SoarDeadLettered) -> Outcome:
        """Send a dead letter again, with its original body and idempotency key."""
        data = dead.data
        if data.payload is None:
            raise ValueError("the dead letter carries no payload")
        key = data.idempotency_key or idempotency_key(data.audit_event_id, data.rule_name)
        return await self.deliver(
            dead,
            label=data.rule_name,
            severity=data.severity,
            audit_event_id=data.audit_event_id,
            payload=data.payload,
            key=key,
        )

    async def deliver(
        self,
        cause: EventBase,
        *,
        label: str,
        severity: str | None,
        audit_event_id: str,
        payload: dict[str, Any],
        key: str,
    ) -> Outcome:
        if self._client is None:
            raise RuntimeError("SOAR_WEBHOOK_URL is not set")
        if self._failpoint:
            log.warning("failpoint.hit", failpoint="soar.before_delivery")
            os._exit(FAILPOINT_EXIT)
        outcome = await self._client.deliver(payload, key)
        data = SoarDispatchData(
            rule_name=label,
            query=payload.get("query"),
            audit_event_id=audit_event_id,
            attempts=outcome.attempts,
            status_code=outcome.status_code,
            error=outcome.error,
            outcome="delivered" if outcome.delivered else "dead-lettered",
            severity=severity,
            idempotency_key=key,
            payload=payload,
        )
        subject = cause.subject
        await self._bus.publish(
            cause.follow_up(SoarDispatched, source=SERVICE, subject=subject, data=data)
        )
        if outcome.delivered:
            self.delivered += 1
            log.info("soar.delivered", rule=label, attempts=outcome.attempts)
        else:
            await self._bus.publish(
                cause.follow_up(SoarDeadLettered, source=SERVICE, subject=subject, data=data)
            )
            self.dead_lettered += 1
            log.warning(
                "soar.dead_lettered", rule=label, attempts=outcome.attempts, error=outcome.error
            )
        return outcome
