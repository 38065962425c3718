"""A bounded, ordered buffer between a service and the broker, so no audit event is lost.

The gateway puts every API call through one; the graph engine every internal write. Events are
published in order by one sender task; a failed publish is retried with backoff while the event
stays at the head of the buffer. When the buffer is full the service refuses new calls (503)
rather than serve them unaudited.

Given ``publish_many`` (what :func:`~meshq_runtime.audit_confirm.open_audit_buffer` gives it),
the sender publishes in batches: every event queued when it is free, up to ``batch_max``, after
waiting at most ``linger`` seconds for more when fewer are queued, in one send whose records
the broker acknowledges together (one journal ``fsync`` before it). The events the broker
acknowledged are published; the first it did not, and those behind it, stay at the head and are
sent again (at least once: the audit service records an event once, by its id).

Every event is written to a journal on disk (:mod:`meshq_runtime.audit_spool`) when it is
submitted and stays there until it is owed no longer, so a stop, a crash or a kill of the
process loses nothing: the next start sends what the journal still holds. When is an event owed
no longer?

- with confirmations (the gateway: ``confirm_timeout`` set, and the plan records the audit
  log): once the audit log has recorded it — :class:`~meshq_runtime.audit_confirm.
  RecordedWatcher` reads ``meshq.audit.recorded`` and calls :meth:`AuditBuffer.confirm`. An
  acknowledgement from the broker is not enough: the embedded broker keeps its log in memory.
  An event published but not confirmed within ``confirm_timeout`` (doubling per try, up to
  ``max_republish_s``) is published again, and at once for all of them when the broker is
  seen to have lost its log (:meth:`AuditBuffer.republish`); the audit service records an
  event once whatever the repeats;
- without (the graph engine, or a plan without ``audit_logging``, whose events the audit
  service drops): once the broker acknowledged it.

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
import heapq
import itertools
import json
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from network_discovery.contracts.events import AuditRequestEvent

from meshq_runtime.audit_spool import Spool

__all__ = ["AuditBuffer", "Publish", "PublishMany"]

log = structlog.get_logger(__name__)

Publish = Callable[[AuditRequestEvent], Awaitable[Any]]
#: Publish events (each with its JSON) in order; returns how many of them, from the first, the
#: broker acknowledged, and the error of the first that failed (None when all were).
PublishMany = Callable[
    [Sequence[tuple[AuditRequestEvent, bytes]]], Awaitable[tuple[int, BaseException | None]]
]


@dataclass
class _Entry:
    event: AuditRequestEvent
    line: bytes
    published_at: float | None = None
    #: What is sent when not the journal's line (the event slimmed: ``_set_aside``).
    wire: bytes | None = None
    tries: int = 0
    deadline: float = 0.0


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
        confirm_timeout: float | None = None,
        confirming: Callable[[], bool] | None = None,
        max_unconfirmed: int = 100_000,
        max_republish_s: float = 600.0,
        fsync: bool = True,
        publish_many: PublishMany | None = None,
        batch_max: int = 500,
        linger: float = 0.0,
    ) -> None:
        if batch_max < 1 or linger < 0:
            raise ValueError("an audit buffer needs batch_max >= 1 and linger >= 0")
        self._publish = publish
        self._publish_many = publish_many
        self._batch_max = batch_max
        self._linger = linger
        self._dead_letter = dead_letter
        self.capacity = capacity
        self.max_unconfirmed = max_unconfirmed
        self._spool = Spool(spool, fsync=fsync) if spool is not None else None
        self._timeout = publish_timeout
        self._max_backoff = max_backoff
        self._confirm_timeout = confirm_timeout
        self._confirming = confirming
        self._max_republish_s = max_republish_s
        self._entries: dict[str, _Entry] = {}
        self._queue: deque[str] = deque()
        self._queued: set[str] = set()
        self._deadlines: list[tuple[float, int, str]] = []
        self._order = itertools.count()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._settled = asyncio.Event()
        self._settled.set()
        self._tasks: list[asyncio.Task[None]] = []
        self._was_confirming = False
        #: Publishes the broker acknowledged (a re-sent event counts again).
        self.delivered = 0
        self.failures = 0
        self.undeliverable = 0
        #: Events the audit log confirmed, and events published again for want of it.
        self.confirmed = 0
        self.republished = 0
        #: Sends made (one per event, or one per batch with ``publish_many``).
        self.sends = 0

    # --- what the service sees ----------------------------------------------------------

    def __len__(self) -> int:
        """Events waiting to be published (not yet acknowledged by the broker)."""
        return len(self._queued)

    @property
    def unconfirmed(self) -> int:
        """Events still owed: queued, or published and awaiting the audit log's receipt."""
        return len(self._entries)

    def full(self) -> bool:
        return len(self._queued) >= self.capacity or len(self._entries) >= self.max_unconfirmed

    def pending(self) -> list[AuditRequestEvent]:
        """The events still owed, oldest first."""
        return [entry.event for entry in self._entries.values()]

    def submit(self, event: AuditRequestEvent) -> None:
        """Queue an event (callers check :meth:`full` before serving a query)."""
        if event.id in self._entries:
            return
        entry = _Entry(event, event.model_dump_json().encode())
        self._entries[event.id] = entry
        self._settled.clear()
        if self._spool is not None:
            try:
                self._spool.append(entry.line)
            except OSError as exc:  # a full disk: the event still goes out from memory
                log.error("audit.spool_write_failed", event_id=event.id, error=str(exc)[:200])
        self._enqueue(event.id)

    def confirm(self, event_id: str) -> bool:
        """The audit log recorded ``event_id``: forget it. False when it was not owed here."""
        if event_id not in self._entries:
            return False
        self._queued.discard(event_id)
        self._forget(event_id)
        self.confirmed += 1
        return True

    def republish(self, reason: str) -> int:
        """Publish again every event published but not confirmed (the broker lost its log)."""
        count = 0
        for event_id, entry in self._entries.items():
            if entry.published_at is not None and event_id not in self._queued:
                self._enqueue(event_id)
                count += 1
        if count:
            self.republished += count
            log.warning("audit.republish", events=count, reason=reason)
        return count

    def describe(self) -> dict[str, Any]:
        return {
            "queued": len(self._queued),
            "capacity": self.capacity,
            "unconfirmed": len(self._entries),
            "confirmed": self.confirmed,
            "republished": self.republished,
            "undeliverable": self.undeliverable,
        }

    # --- life cycle ---------------------------------------------------------------------

    async def start(self) -> None:
        if self._spool is not None:
            for event in self._spool.open():  # already in the journal: queue, do not append
                self._entries.setdefault(event.id, _Entry(event, event.model_dump_json().encode()))
                self._settled.clear()
                self._enqueue(event.id)
        self._tasks.append(asyncio.create_task(self._run(), name="audit-sender"))
        if self._confirm_timeout is not None:
            self._tasks.append(asyncio.create_task(self._reaper(), name="audit-receipts"))

    async def drained(self, timeout: float) -> bool:
        """Wait (with a deadline) until every queued event is published."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout=timeout)
        except TimeoutError:
            return False
        return True

    async def settled(self, timeout: float) -> bool:
        """Wait (with a deadline) until no event is owed any more (all confirmed)."""
        try:
            await asyncio.wait_for(self._settled.wait(), timeout=timeout)
        except TimeoutError:
            return False
        return True

    async def stop(self, flush_timeout: float = 5.0) -> None:
        """Publish what is queued and wait for receipts, up to ``flush_timeout``; what is
        still owed then stays in the journal for the next start."""
        deadline = time.monotonic() + flush_timeout
        await self.drained(flush_timeout)
        if self._expects_receipts():
            await self.settled(max(0.0, deadline - time.monotonic()))
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._entries:
            where = str(self._spool.path) if self._spool is not None else None
            log.warning("audit.owed_at_shutdown", events=len(self._entries), journal=where)
            if self._spool is None:
                log.error("audit.unsent_at_shutdown", events=len(self._entries))
        if self._spool is not None:
            self._spool.close()

    # --- internals ----------------------------------------------------------------------

    def _expects_receipts(self) -> bool:
        if self._confirm_timeout is None:
            return False
        return self._confirming() if self._confirming is not None else True

    def _enqueue(self, event_id: str) -> None:
        self._queue.append(event_id)
        self._queued.add(event_id)
        self._idle.clear()
        self._wake.set()

    def _head(self) -> str | None:
        while self._queue:
            event_id = self._queue[0]
            if event_id in self._queued and event_id in self._entries:
                return event_id
            self._queue.popleft()  # confirmed or forgotten meanwhile
            self._queued.discard(event_id)
        return None

    def _dequeue(self, event_id: str) -> None:
        if self._queue and self._queue[0] == event_id:
            self._queue.popleft()
        self._queued.discard(event_id)

    def _forget(self, event_id: str) -> None:
        if self._entries.pop(event_id, None) is None:
            return
        if self._spool is not None:
            try:
                self._spool.done(event_id, (e.line for e in self._entries.values()))
            except OSError as exc:
                log.error("audit.spool_write_failed", event_id=event_id, error=str(exc)[:200])
        if not self._entries:
            self._settled.set()

    def _published(self, event_id: str) -> None:
        entry = self._entries.get(event_id)
        if entry is None:
            return  # confirmed before the acknowledgement came back
        if not self._expects_receipts():
            self._forget(event_id)
            return
        assert self._confirm_timeout is not None
        now = time.monotonic()
        entry.tries += 1
        entry.published_at = now
        wait = min(self._confirm_timeout * 2 ** min(entry.tries - 1, 16), self._max_republish_s)
        entry.deadline = now + wait
        heapq.heappush(self._deadlines, (entry.deadline, next(self._order), event_id))

    async def _sync(self) -> None:
        """The journal on disk before anything of it is published."""
        if self._spool is not None:
            try:
                await self._spool.sync()
            except OSError as exc:
                log.error("audit.spool_sync_failed", error=str(exc)[:200])

    async def _run(self) -> None:
        if self._publish_many is not None:
            await self._run_batches(self._publish_many)
            return
        backoff = 0.2
        while True:
            event_id = self._head()
            if event_id is None:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            event = self._entries[event_id].event
            await self._sync()
            self.sends += 1
            try:
                await asyncio.wait_for(self._publish(event), timeout=self._timeout)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.failures += 1
                if _never_deliverable(exc) and await self._set_aside(event, exc):
                    self._dequeue(event_id)
                    self._published(event_id)
                    continue
                log.warning(
                    "audit.publish_retry",
                    queued=len(self._queued),
                    retry_in=backoff,
                    error=type(exc).__name__,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            backoff = 0.2
            self._dequeue(event_id)
            self.delivered += 1
            self._published(event_id)

    def _take(self) -> list[str]:
        """Up to ``batch_max`` queued events, oldest first, off the head of the queue."""
        batch: list[str] = []
        taken: set[str] = set()
        while self._queue and len(batch) < self._batch_max:
            event_id = self._queue.popleft()
            if event_id not in self._entries:
                self._queued.discard(event_id)  # confirmed or forgotten meanwhile
            elif event_id in self._queued and event_id not in taken:
                batch.append(event_id)
                taken.add(event_id)
        return batch

    async def _run_batches(self, publish_many: PublishMany) -> None:
        backoff = 0.2
        while True:
            if self._head() is None:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            if self._linger and len(self._queued) < self._batch_max:
                await asyncio.sleep(self._linger)  # a bounded wait for the events behind
            batch = self._take()
            if not batch:
                continue
            entries = [self._entries[i] for i in batch]
            await self._sync()
            self.sends += 1
            try:
                acked, error = await asyncio.wait_for(
                    publish_many([(e.event, e.wire or e.line) for e in entries]),
                    timeout=self._timeout,
                )
            except asyncio.CancelledError:
                self._queue.extendleft(reversed(batch))
                raise
            except Exception as exc:
                acked, error = 0, exc
            acked = max(0, min(acked, len(batch)))
            for event_id in batch[:acked]:
                self._queued.discard(event_id)
                self.delivered += 1
                self._published(event_id)
            rest = batch[acked:]
            # not acknowledged: back at the head, in order, for the next send
            self._queue.extendleft(reversed(rest))
            if not rest:
                backoff = 0.2
                continue
            if error is None:  # fewer acknowledged than sent, and no reason given
                error = RuntimeError("the broker acknowledged part of a batch")
            self.failures += 1
            head = self._entries.get(rest[0])
            if head is not None and _never_deliverable(error):
                if await self._set_aside(head.event, error):
                    self._dequeue(rest[0])
                    self._published(rest[0])
                    continue
            log.warning(
                "audit.publish_retry",
                queued=len(self._queued),
                retry_in=backoff,
                error=type(error).__name__,
                batch=len(batch),
                acknowledged=acked,
            )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff)

    async def _reaper(self) -> None:
        """Publish again what the audit log has not confirmed in time; forget, once the plan
        stops recording, what would never be confirmed."""
        assert self._confirm_timeout is not None
        tick = max(0.1, min(1.0, self._confirm_timeout / 4))
        while True:
            await asyncio.sleep(tick)
            confirming = self._expects_receipts()
            if not confirming and self._was_confirming:
                done = [i for i, e in self._entries.items() if e.published_at is not None]
                for event_id in done:
                    if event_id not in self._queued:
                        self._forget(event_id)
                log.info("audit.receipts_off", released=len(done))
            self._was_confirming = confirming
            now, due = time.monotonic(), 0
            while self._deadlines and self._deadlines[0][0] <= now:
                deadline, _, event_id = heapq.heappop(self._deadlines)
                entry = self._entries.get(event_id)
                if entry is None or entry.deadline != deadline or event_id in self._queued:
                    continue
                self._enqueue(event_id)
                due += 1
            if due:
                self.republished += due
                log.warning(
                    "audit.republish",
                    events=due,
                    reason=f"not confirmed within {self._confirm_timeout:g}s or more",
                )

    async def _set_aside(self, event: AuditRequestEvent, exc: BaseException) -> bool:
        """Send the event once more without its parameters and rows (their size and hash
        instead); if the broker refuses that too, keep it in the undeliverable file and forget
        it. False when the broker went away meanwhile: the event stays queued and is retried."""
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
            self._queued.discard(event.id)
            self._forget(event.id)
            return True
        self.delivered += 1
        entry = self._entries.get(event.id)
        if entry is not None:  # a re-send goes out slimmed too
            entry.event = _slimmed(event)
            entry.wire = entry.event.model_dump_json().encode()
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
