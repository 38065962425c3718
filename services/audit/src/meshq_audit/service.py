"""Recording audit events: append to the chain and queue ``audit.recorded``, atomically.

The log is the ``audit_logging`` feature: while the plan lacks it, an event is consumed and
counted but not recorded (nothing is kept, nothing announced, nothing forwarded).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Protocol

import asyncpg
import structlog
from meshq_runtime.outbox import OutboxRelay, enqueue
from network_discovery.contracts.events import (
    AuditRecorded,
    AuditRecordedData,
    AuditRequestEvent,
)

from meshq_audit.chain import Break, Verification, verify_rows
from meshq_audit.repository import AuditRepository
from meshq_audit.siem import SiemForwarder

__all__ = ["FEATURE", "SERVICE", "AuditService", "Gate"]

SERVICE = "audit"
FEATURE = "audit_logging"
log = structlog.get_logger(__name__)


class Gate(Protocol):
    """What the service needs from ``LicenseFollower``."""

    @property
    def plan(self) -> str: ...

    def allows(self, feature: str) -> bool: ...


class AuditService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        repo: AuditRepository,
        relay: OutboxRelay,
        gate: Gate,
        siem: SiemForwarder | None = None,
    ) -> None:
        self._pool, self._repo, self._relay, self._siem = pool, repo, relay, siem
        self.gate = gate
        #: Events consumed but not recorded because the plan lacks ``audit_logging``.
        self.unrecorded = 0
        self._warned_plan: str | None = None

    @property
    def recording(self) -> bool:
        return self.gate.allows(FEATURE)

    async def record(self, event: AuditRequestEvent) -> None:
        if not self.recording:
            self._skip(event)
            return
        self._warned_plan = None
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
            if self._siem is not None:
                self._siem.notify()
        else:
            log.info("audit.already_recorded", seq=result.seq)

    def _skip(self, event: AuditRequestEvent) -> None:
        self.unrecorded += 1
        plan = self.gate.plan
        if plan != self._warned_plan:  # once per plan, not once per API call
            self._warned_plan = plan
            log.warning("audit.not_recorded", feature=FEATURE, plan=plan, event_id=event.id)
        else:
            log.debug("audit.not_recorded", feature=FEATURE, plan=plan, event_id=event.id)

    async def verify(self, start: int = 1) -> Verification:
        """Walk the chain from record ``start`` and name the first break."""
        head_seq, head_hash = await self._repo.head()
        prev = await self._repo.hash_before(start)
        if prev is None:
            brk = Break(start - 1, "deleted", f"record {start - 1} is missing")
            return Verification(False, 0, start, start - 1, head_seq, brk)
        result = await verify_rows(
            self._repo.chain_rows(start),
            key=self._repo.key,
            start_seq=start,
            start_prev=prev,
            head_seq=head_seq,
            head_hash=head_hash,
        )
        if result.brk is None:
            log.info("audit.verified", checked=result.checked, start=start)
        else:
            log.warning("audit.chain_broken", **result.brk.as_dict())
        return result

    def export(self, since: datetime | None) -> AsyncIterator[dict[str, Any]]:
        return self._repo.export(since)

    async def head(self) -> tuple[int, str]:
        return await self._repo.head()
