"""Recording audit events: append to the chain and queue ``audit.recorded``, atomically.

The log is the ``audit_logging`` feature: while the plan lacks it, an event is consumed and
counted but not recorded (nothing is kept, nothing announced, nothing forwarded).

``audit.recorded`` is the producer's receipt: the gateway keeps each event until it sees it
announced. An event that comes again (a producer re-sent it after a broker restart, or
Kafka re-delivered it) is not appended twice, but its announcement is sent again, with the
same event id (derived from the audit event's id), so a receipt lost with the broker's log
is not lost for good; SOAR dispatches each (event, rule) once whatever the repeats.

Events are recorded a batch at a time (what one fetch of the consumer returned): the whole
batch is appended to the chain and its announcements queued in the outbox in one transaction,
so a batch is in the log entirely or not at all, and the consumer commits its offsets once
after it. A batch that comes again after a crash is recognised event by event.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import asyncpg
import structlog
from meshq_runtime.outbox import OutboxRelay, enqueue_many
from meshq_runtime.postgres import refused_data
from network_discovery.contracts.events import (
    AuditRecorded,
    AuditRecordedData,
    AuditRequestData,
    AuditRequestEvent,
)
from pydantic import ValidationError
from pydantic_core import PydanticSerializationError

from meshq_audit.chain import Break, Checkpoint, Verification, head_hmac, verify_rows
from meshq_audit.checkpoints import CHECKED, CheckpointLog
from meshq_audit.repository import AppendResult, AuditRepository
from meshq_audit.siem import SiemForwarder

__all__ = [
    "FAILPOINT_HOLD_BATCH",
    "FEATURE",
    "RECORDED_TYPE",
    "SERVICE",
    "AuditService",
    "Gate",
    "recorded_id",
    "unrecordable",
]

SERVICE = "audit"
FEATURE = "audit_logging"
#: The event type of the announcements (re-published after the broker lost its log).
RECORDED_TYPE = "audit.recorded"
log = structlog.get_logger(__name__)

#: Failpoint (resilience tests only): hold a batch inside its transaction, its records written
#: but not committed, until the process is killed.
FAILPOINT_HOLD_BATCH = "audit.hold_batch"

_RECORDED_NS = uuid.UUID("5d0c3f7e-2b8a-4f51-9a52-6b1f0e3c9d21")
_RECORDED_NS_BYTES = _RECORDED_NS.bytes


def recorded_id(audit_event_id: str) -> str:
    """The id of the ``audit.recorded`` event of an audit event: the same every time it is
    announced, so consumers dedupe a repeated announcement on its id.

    ``str(uuid.uuid5(_RECORDED_NS, audit_event_id))``, without building a ``UUID`` on the way
    (a record's announcement costs less; the unit tests compare the two)."""
    name = _RECORDED_NS_BYTES + audit_event_id.encode()
    digest = bytearray(hashlib.sha1(name, usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = digest.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def unrecordable(exc: BaseException) -> bool:
    """An error no retry can cure: the event itself cannot be stored (PostgreSQL refuses its
    data, e.g. a NUL character in JSON, or it exceeds a limit; it does not serialise). Any
    other error — the database unreachable, restarting, out of connections, a transaction
    lost to a race — is the store's, and the consumer waits for it."""
    return refused_data(exc) or isinstance(
        exc, ValidationError | PydanticSerializationError | TypeError | UnicodeError
    )


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
        checkpoints: CheckpointLog | None = None,
        failpoint: Callable[[str], bool] | None = None,
    ) -> None:
        self._pool, self._repo, self._relay, self._siem = pool, repo, relay, siem
        self._failpoint = failpoint or (lambda _: False)
        self.checkpoints = checkpoints
        self.gate = gate
        #: Events consumed but not recorded because the plan lacks ``audit_logging``.
        self.unrecorded = 0
        #: Events that came again, already recorded: announced again, not appended.
        self.reannounced = 0
        self._warned_plan: str | None = None

    @property
    def recording(self) -> bool:
        return self.gate.allows(FEATURE)

    async def record(self, event: AuditRequestEvent) -> None:
        """One event: a batch of one."""
        await self.record_batch([event])

    async def record_batch(self, events: Sequence[AuditRequestEvent]) -> None:
        """Append ``events`` to the chain, in order, and queue their announcements, in one
        transaction; an event already recorded is announced again, not appended."""
        if not events:
            return
        if not self.recording:
            for event in events:
                self._skip(event)
            return
        self._warned_plan = None
        async with self._pool.acquire() as conn, conn.transaction():
            results = await self._repo.append_batch(conn, events)
            await enqueue_many(
                conn, SERVICE, [_announcement(e, r) for e, r in zip(events, results, strict=True)]
            )
            if self._failpoint(FAILPOINT_HOLD_BATCH):
                log.warning("failpoint.hit", failpoint=FAILPOINT_HOLD_BATCH, events=len(events))
                await asyncio.Event().wait()  # until the process is killed
        self._relay.notify()
        created = sum(1 for r in results if r.created)
        self.reannounced += len(results) - created
        if created and self._siem is not None:
            self._siem.notify()
        if _info_enabled():  # a line per event costs more than appending it: none at warning
            for event, result in zip(events, results, strict=True):
                _log_result(event, result)

    def _skip(self, event: AuditRequestEvent) -> None:
        self.unrecorded += 1
        plan = self.gate.plan
        if plan != self._warned_plan:  # once per plan, not once per API call
            self._warned_plan = plan
            log.warning("audit.not_recorded", feature=FEATURE, plan=plan, event_id=event.id)
        else:
            log.debug("audit.not_recorded", feature=FEATURE, plan=plan, event_id=event.id)

    async def verify(self, start: int = 1) -> Verification:
        """Walk the chain from record ``start``, then check the head's HMAC and the newest
        signed checkpoints; name the first break."""
        result = await self._walk(start)
        if result.brk is None:
            result = await self._check_head(result)
        if result.brk is None:
            log.info("audit.verified", checked=result.checked, start=start)
        else:
            log.warning("audit.chain_broken", **result.brk.as_dict())
        return result

    async def _walk(self, start: int) -> Verification:
        head_seq, head_hash = await self._repo.head()
        prev = await self._repo.hash_before(start)
        if prev is None:
            brk = Break(start - 1, "deleted", f"record {start - 1} is missing")
            return Verification(False, 0, start, start - 1, head_seq, brk)
        return await verify_rows(
            self._repo.chain_rows(start),
            key=self._repo.key,
            start_seq=start,
            start_prev=prev,
            head_seq=head_seq,
            head_hash=head_hash,
        )

    async def _check_head(self, result: Verification) -> Verification:
        head_seq, head_hash = await self._repo.head()
        signature = await self._repo.head_signature()

        def broken(brk: Break, checked: int = 0) -> Verification:
            return replace(result, ok=False, brk=brk, checkpoints=checked)

        if head_seq > 0:
            expected = head_hmac(self._repo.key, head_seq, head_hash)
            if signature is None:
                return broken(Break(head_seq, "changed", "the chain head carries no HMAC"))
            if not hmac.compare_digest(expected, signature):
                reason = "the chain head's HMAC does not match: moved without the audit key"
                return broken(Break(head_seq, "changed", reason))
        if self.checkpoints is None:
            return result
        valid, _ = self.checkpoints.read()
        checked = 0
        for point in valid[:CHECKED]:
            checked += 1
            if point.seq > head_seq:
                reason = (
                    f"truncated: the checkpoint signed at {point.at} holds record {point.seq}, "
                    f"the chain now ends at {head_seq}"
                )
                return broken(Break(head_seq + 1, "deleted", reason), checked)
            here = await self._repo.entry_hash_at(point.seq)
            if here != point.entry_hash:
                what = "is missing" if here is None else "differs"
                reason = f"record {point.seq} {what} from the checkpoint signed at {point.at}"
                kind: Literal["changed", "deleted"] = "deleted" if here is None else "changed"
                return broken(Break(point.seq, kind, reason), checked)
        return replace(result, checkpoints=checked)

    async def checkpoint(self) -> Checkpoint | None:
        """Sign the head as it is now, if it moved since the last checkpoint: into the
        checkpoint file (flushed to disk) and, when configured, the SIEM stream."""
        if self.checkpoints is None:
            return None
        head_seq, head_hash = await self._repo.head()
        last = self.checkpoints.last()
        if head_seq == 0 or (last is not None and last.seq == head_seq):
            return None
        signature = await self._repo.head_signature()
        if signature is None or not hmac.compare_digest(
            signature, head_hmac(self._repo.key, head_seq, head_hash)
        ):
            log.error("audit.checkpoint_refused", seq=head_seq, reason="the head does not verify")
            return None
        at = datetime.now(UTC).isoformat()
        point = Checkpoint.sign(self._repo.key, head_seq, head_hash, at)
        self.checkpoints.append(point)
        log.info("audit.checkpoint", seq=point.seq, entry_hash=point.entry_hash)
        if self._siem is not None:
            await self._siem.publish_checkpoint(point.as_dict())
        return point

    async def sign_unsigned_head(self) -> None:
        """A head from before heads were signed: sign it once the whole chain verifies (a
        chain that does not verify keeps an unsigned head, and verify says so)."""
        head_seq, head_hash = await self._repo.head()
        if await self._repo.head_signature() is not None:
            return
        if head_seq > 0:
            walked = await self._walk(1)
            if walked.brk is not None:
                log.error("audit.head_left_unsigned", **walked.brk.as_dict())
                return
        if await self._repo.sign_head(head_seq, head_hash):
            log.info("audit.head_signed", seq=head_seq)

    def export(self, since: datetime | None) -> AsyncIterator[dict[str, Any]]:
        return self._repo.export(since)

    async def head(self) -> tuple[int, str]:
        return await self._repo.head()


def _info_enabled() -> bool:
    """Whether an info line goes anywhere (the services log through the standard library,
    whose level decides; a logger of another kind is assumed to take it)."""
    enabled = getattr(log, "isEnabledFor", None)
    return True if enabled is None else bool(enabled(logging.INFO))


def _log_result(event: AuditRequestEvent, result: AppendResult) -> None:
    where = {"correlation_id": event.correlation_id, "event_id": event.id}
    if result.created:
        log.info(
            "audit.recorded",
            seq=result.seq,
            principal=event.data.principal,
            path=event.data.path,
            status=event.data.status,
            **where,
        )
    else:
        log.info("audit.already_recorded", seq=result.seq, reannounced=True, **where)


def _announcement(event: AuditRequestEvent, result: AppendResult) -> AuditRecorded:
    """The ``audit.recorded`` event of a recorded event: the same id every time it is
    announced; a repeat announces the request as the record keeps it."""
    request = event.data if result.body is None else _kept(result.body, event)
    return event.follow_up(
        AuditRecorded,
        id=recorded_id(event.id),
        source=SERVICE,
        subject=event.subject,
        data=AuditRecordedData(
            seq=result.seq,
            entry_hash=result.entry_hash,
            audit_event_id=event.id,
            request=request,
        ),
    )


def _kept(body: str, event: AuditRequestEvent) -> AuditRequestData:
    """The request as the record keeps it (what a repeat announces); the repeat's own when a
    record written by an older version no longer reads as an event."""
    try:
        return AuditRequestEvent.model_validate_json(body).data
    except ValidationError:
        return event.data
