"""Evaluate SOAR rules over recorded audit events and deliver (or dead-letter) the webhooks.

With a :class:`~meshq_soar_dispatcher.repository.DispatchLog` (the service always has one),
each (audit event, rule) is dispatched once: a repeated ``audit.recorded`` finds its outcome
and sends nothing; outcomes and dead letters are kept in PostgreSQL and their events leave
through the outbox. Without one (tools, tests) the events are published directly.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any, Protocol

import structlog
from meshq_runtime.kafka import EventBus
from meshq_runtime.postgres import refused_data
from network_discovery.contracts.envelope import EventBase
from network_discovery.contracts.events import (
    AlertChanged,
    AuditRecorded,
    SoarDeadLettered,
    SoarDispatchData,
    SoarDispatched,
)

from meshq_soar_dispatcher.alerts import BlastContext, alert_payload, severe_enough
from meshq_soar_dispatcher.delivery import Outcome, WebhookClient, idempotency_key, triggered_at
from meshq_soar_dispatcher.repository import DispatchLog
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
        store: DispatchLog | None = None,
        notify: Callable[[], None] | None = None,
        failpoint: bool = False,
        alerts_min_severity: str | None = None,
        blast: BlastContext | None = None,
    ) -> None:
        self._rules, self._client, self._bus, self._gate = rules, client, bus, gate
        self._alerts_min = alerts_min_severity
        self._blast = blast or BlastContext(None)
        self._store = store
        self._notify = notify  # wakes the outbox relay once an outcome is committed
        self._failpoint = failpoint
        self.delivered = 0
        self.dead_lettered = 0
        #: Matches skipped because their (event, rule) was dispatched before.
        self.repeats = 0

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
            key = idempotency_key(event.data.audit_event_id, rule.label)
            if self._store is not None:
                done = await self._store.dispatched(key)
                if done is not None:
                    self.repeats += 1
                    log.info("soar.already_dispatched", rule=rule.label, outcome=done)
                    continue
            await self.dispatch(rule, event, build_payload(rule, event), key=key)

    async def handle_alert(self, event: AlertChanged) -> None:
        """Send an alert that fired, with its blast radius (``SOAR_ALERTS_MIN_SEVERITY``)."""
        data = event.data
        minimum = self._alerts_min
        if data.change != "firing" or minimum is None or not severe_enough(data.severity, minimum):
            return
        if not self._gate.allows("soar_webhooks"):
            log.warning("soar.unlicensed", alert=data.alert_id)
            return
        if self._client is None:
            log.warning("soar.no_webhook_url", alert=data.alert_id)
            return
        label = f"alert:{data.rule}"
        key = idempotency_key(event.id, label)
        if self._store is not None:
            done = await self._store.dispatched(key)
            if done is not None:
                self.repeats += 1
                log.info("soar.already_dispatched", alert=data.alert_id, outcome=done)
                return
        blast, error = await self._blast.of(data.devices)
        await self.deliver(
            event,
            label=label,
            severity=data.severity,
            audit_event_id=event.id,
            payload=alert_payload(event, blast, error),
            key=key,
        )

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

    async def replay(self, dead: SoarDeadLettered, *, letter: int | None = None) -> Outcome:
        """Send a dead letter again, with its original body and idempotency key; ``letter``
        is its row, marked replayed with the outcome."""
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
            replaces=letter,
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
        replaces: int | None = None,
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
        dispatched = cause.follow_up(SoarDispatched, source=SERVICE, subject=subject, data=data)
        dead = None
        if not outcome.delivered:
            dead = cause.follow_up(SoarDeadLettered, source=SERVICE, subject=subject, data=data)
        if self._store is not None:
            await self._keep(self._store, dispatched, dead, replaces)
            if self._notify is not None:
                self._notify()
        else:
            await self._bus.publish(dispatched)
            if dead is not None:
                await self._bus.publish(dead)
        if outcome.delivered:
            self.delivered += 1
            log.info("soar.delivered", rule=label, attempts=outcome.attempts)
        else:
            self.dead_lettered += 1
            log.warning(
                "soar.dead_lettered", rule=label, attempts=outcome.attempts, error=outcome.error
            )
        return outcome

    async def _keep(
        self,
        store: DispatchLog,
        dispatched: SoarDispatched,
        dead: SoarDeadLettered | None,
        replaces: int | None,
    ) -> None:
        """Write the outcome, waiting for PostgreSQL if it is away: the webhook went out
        already, and retrying the whole event would send it again."""
        delay = 0.2
        while True:
            try:
                await store.record(dispatched, dead, replaces=replaces)
                return
            except Exception as exc:
                if refused_data(exc):
                    raise
                log.warning("soar.outcome_waiting", error=f"{type(exc).__name__}: {exc}"[:300])
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
