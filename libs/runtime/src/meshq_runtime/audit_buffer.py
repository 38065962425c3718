"""A bounded, ordered buffer between a service and the broker, so no audit event is dropped.

The gateway puts every API call through one; the graph engine every internal write. Events are
published in order by one sender task; a failed publish is retried with backoff while the event
stays at the head of the buffer. When the buffer is full the service refuses new calls (503)
rather than serve them unaudited. At shutdown, what could not be sent is written to a spool
file, and the next start sends it first.

An event the broker can never take (too large for it, or one that cannot be serialised) must not
block the ones behind it: it is sent once more with its parameters and rows replaced by their
size and hash, and if that fails too it is written to the undeliverable file (mode 0600) with the
reason and an ``audit.undeliverable`` error is logged: the alert an operator acts on. The broker
being away is not such a failure: those events wait, and the service keeps refusing when full.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import structlog
from network_discovery.contracts.events import AuditRequestEvent

__all__ = ["AuditBuffer"]

log = structlog.get_logger(__name__)

Publish = Callable[[AuditRequestEvent], Awaitable[None]]


class AuditBuffer:
    def __init__(
        self,
        publish: Publish,
        *,
        capacity: int = 10_000,
        spool: Path | None = None,
        publish_timeout: float = 20.0,
        max_backoff: float = 5.0,
        dead_letter: Path | None = None,
    ) -> None:
        self._publish = publish
        self._dead_letter = dead_letter
        self.undeliverable = 0
        self.capacity = capacity
        self._spool = spool
        self._timeout = publish_timeout
        self._max_backoff = max_backoff
        self._items: deque[AuditRequestEvent] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self.delivered = 0
        self.failures = 0

    def __len__(self) -> int:
        return len(self._items)

    def full(self) -> bool:
        return len(self._items) >= self.capacity

    def submit(self, event: AuditRequestEvent) -> None:
        """Queue an event (callers check :meth:`full` before serving a query)."""
        self._items.append(event)
        self._idle.clear()
        self._wake.set()

    async def start(self) -> None:
        for event in self._read_spool():
            self.submit(event)
        self._task = asyncio.create_task(self._run(), name="audit-sender")

    async def drained(self, timeout: float) -> bool:
        """Wait (with a deadline) until every queued event is published."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout=timeout)
        except TimeoutError:
            return False
        return True

    async def stop(self, flush_timeout: float = 5.0) -> None:
        await self.drained(flush_timeout)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._items:
            self._write_spool()

    async def _run(self) -> None:
        backoff = 0.2
        while True:
            if not self._items:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            event = self._items[0]
            try:
                await asyncio.wait_for(self._publish(event), timeout=self._timeout)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.failures += 1
                if _never_deliverable(exc) and await self._set_aside(event, exc):
                    self._items.popleft()
                    continue
                log.warning(
                    "audit.publish_retry",
                    queued=len(self._items),
                    retry_in=backoff,
                    error=type(exc).__name__,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            backoff = 0.2
            self._items.popleft()
            self.delivered += 1

    async def _set_aside(self, event: AuditRequestEvent, exc: Exception) -> bool:
        """Send the event once more without its parameters and rows (their size and hash
        instead); if the broker refuses that too, keep it in the undeliverable file. False
        when the broker went away meanwhile: the event stays queued and is retried."""
        reason = f"{type(exc).__name__}: {str(exc)[:200]}"
        try:
            await asyncio.wait_for(self._publish(_slimmed(event)), timeout=self._timeout)
        except asyncio.CancelledError:
            raise
        except Exception as again:
            if not _never_deliverable(again):
                return False
            self.undeliverable += 1
            kept = self._keep(event, reason)
            log.error("audit.undeliverable", event_id=event.id, reason=reason, kept=kept)
            return True
        self.delivered += 1
        log.error("audit.event_slimmed", event_id=event.id, reason=reason)
        return True

    def _keep(self, event: AuditRequestEvent, reason: str) -> str | None:
        if self._dead_letter is None:
            return None
        self._dead_letter.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"reason": reason, "event": _slimmed(event).model_dump(mode="json")})
        with self._dead_letter.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
        os.chmod(self._dead_letter, 0o600)
        return str(self._dead_letter)

    def _read_spool(self) -> list[AuditRequestEvent]:
        if self._spool is None or not self._spool.exists():
            return []
        events = []
        for line in self._spool.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError):
                events.append(AuditRequestEvent.model_validate_json(line))
        self._spool.unlink()
        if events:
            log.info("audit.spool_loaded", events=len(events))
        return events

    def _write_spool(self) -> None:
        if self._spool is None:
            log.error("audit.unsent_at_shutdown", events=len(self._items))
            return
        self._spool.parent.mkdir(parents=True, exist_ok=True)
        with self._spool.open("a", encoding="utf-8") as out:
            for event in self._items:
                out.write(event.model_dump_json() + "\n")
        os.chmod(self._spool, 0o600)
        log.warning("audit.spooled", events=len(self._items), file=str(self._spool))

    def describe(self) -> dict[str, Any]:
        return {
            "queued": len(self._items),
            "capacity": self.capacity,
            "undeliverable": self.undeliverable,
        }


#: Broker answers that say this message will never be taken, however often it is sent.
_NEVER = frozenset(
    {"MessageSizeTooLargeError", "RecordTooLargeError", "InvalidRecordError", "SerializationError"}
)


def _never_deliverable(exc: BaseException) -> bool:
    return type(exc).__name__ in _NEVER or isinstance(exc, (TypeError, ValueError, UnicodeError))


def _slimmed(event: AuditRequestEvent) -> AuditRequestEvent:
    """The event with its parameters and sample rows replaced by their size and hash."""
    raw = json.dumps(
        {"params": event.data.params, "sample_rows": event.data.sample_rows}, default=str
    )
    digest = {"bytes": len(raw.encode()), "sha256": hashlib.sha256(raw.encode()).hexdigest()}
    data = event.data.model_copy(update={"params": {"_omitted": digest}, "sample_rows": []})
    return event.model_copy(update={"data": data})
