"""Recording audit events: append to the chain and queue ``audit.recorded``, atomically."""

from __future__ import annotations

import asyncpg
import structlog
from meshq_runtime.outbox import OutboxRelay, enqueue
from network_discovery.contracts.events import (
    AuditRecorded,
    AuditRecordedData,
    AuditRequestEvent,
)

from meshq_audit.repository import AuditRepository

__all__ = ["SERVICE", "AuditService"]

SERVICE = "audit"
log = structlog.get_logger(__name__)


class AuditService:
    def __init__(self, pool: asyncpg.Pool, repo: AuditRepository, relay: OutboxRelay) -> None:
        self._pool, self._repo, self._relay = pool, repo, relay

    async def record(self, event: AuditRequestEvent) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            result = await self._repo.append(conn, event)
            if result.created:
                recorded = event.follow_up(
                    AuditRecorded,
                    source=SERVICE,
                    subject=event.subject,
                    data=AuditRecordedData(
                        seq=result.seq,
                        entry_hash=result.entry_hash,
                        audit_event_id=event.id,
                        request=event.data,
                    ),
                )
                await enqueue(conn, SERVICE, recorded)
        if result.created:
            log.info(
                "audit.recorded",
                seq=result.seq,
                principal=event.data.principal,
                path=event.data.path,
                status=event.data.status,
            )
            self._relay.notify()
        else:
            log.info("audit.already_recorded", seq=result.seq)
