"""Transactional outbox: events written in the same PostgreSQL transaction as the side effect.

A service calls :func:`enqueue` (or :func:`enqueue_many`, one ``COPY`` for many events)
inside its transaction; :class:`OutboxRelay` publishes the rows in order and marks a row sent
only once the broker acknowledged it (``acks=all``). If the process dies between commit and
publish, or the broker is away, the relay publishes on the next try or the next start: nothing
is lost, and consumers dedupe on the event id.

The relay publishes a page of pending rows at a time: every row of the page is handed to the
producer, then the acknowledgements are awaited together, and the rows acknowledged (from the
first, up to the first that was not) are marked sent in one statement. A row that failed, and
every row after it, stay pending and go out again, in order, on the next pass.

An acknowledgement is as durable as the broker's log. When the broker is seen to have lost it
(:class:`~meshq_runtime.kafka.resets.LogResets`: the embedded broker restarted), the relay
publishes again the rows of the event types it was given (``republish``) that it published in
the last ``republish_window_s`` seconds — only types whose consumers are idempotent on the
event id belong there. Which types a service names is its decision (docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Collection, Sequence

import asyncpg
import structlog
from network_discovery.contracts.envelope import EventBase

from meshq_runtime.kafka.broker import EventBus, OutgoingRecord

__all__ = ["OUTBOX_MIGRATIONS", "OutboxRelay", "enqueue", "enqueue_many"]

log = structlog.get_logger(__name__)

OUTBOX_MIGRATIONS = [
    "CREATE TABLE IF NOT EXISTS meshq_outbox ("
    " id bigserial PRIMARY KEY, service text NOT NULL, topic text NOT NULL, event_key bytea,"
    " event_id text NOT NULL, event_type text NOT NULL, correlation_id text NOT NULL,"
    " payload text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),"
    " published_at timestamptz)",
    "CREATE INDEX IF NOT EXISTS meshq_outbox_pending ON meshq_outbox (service, id)"
    " WHERE published_at IS NULL",
]


#: What :func:`enqueue_many` writes (``id`` and ``created_at`` take their defaults, in order).
_COLUMNS = ("service", "topic", "event_key", "event_id", "event_type", "correlation_id", "payload")


async def enqueue(conn: asyncpg.Connection, service: str, event: EventBase) -> None:
    """Add an event to the outbox; call inside the transaction of the side effect."""
    await conn.execute(
        "INSERT INTO meshq_outbox (service, topic, event_key, event_id, event_type,"
        " correlation_id, payload) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        service,
        event.topic,
        event.key(),
        event.id,
        event.type,
        event.correlation_id,
        event.model_dump_json(),
    )


async def enqueue_many(conn: asyncpg.Connection, service: str, events: Sequence[EventBase]) -> None:
    """Add events to the outbox with one ``COPY``, in order (the relay publishes them in the
    order given); call inside the transaction of the side effect."""
    if not events:
        return
    await conn.copy_records_to_table(
        "meshq_outbox",
        columns=_COLUMNS,
        records=[
            (
                service,
                e.topic,
                e.key(),
                e.id,
                e.type,
                e.correlation_id,
                e.model_dump_json(),
            )
            for e in events
        ],
    )


class OutboxRelay:
    """Publishes a service's pending outbox rows; wake it with :meth:`notify`."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        bus: EventBus,
        service: str,
        *,
        interval: float = 1.0,
        republish: Collection[str] = (),
        republish_window_s: float = 900.0,
        page: int = 500,
    ) -> None:
        self._pool, self._bus, self._service, self._interval = pool, bus, service, interval
        #: Pending rows published together (one query, one wait for the acknowledgements).
        self._page = page
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._republish_types = sorted(republish)
        self._window_s = republish_window_s
        self._reset: str | None = None
        self.published = 0
        #: Rows published again after the broker lost its log.
        self.republished = 0
        if self._republish_types:
            bus.resets.listen(self.broker_lost_log)

    def broker_lost_log(self, reason: str) -> None:
        """Publish again, on the next pass, what the broker may have lost."""
        self._reset = reason
        self.notify()

    async def republish(self, reason: str) -> int:
        """Mark the re-publishable rows sent in the last window as pending again."""
        status = await self._pool.execute(
            "UPDATE meshq_outbox SET published_at = NULL WHERE service = $1"
            " AND event_type = ANY($2::text[]) AND published_at IS NOT NULL"
            " AND published_at >= now() - make_interval(secs => $3)",
            self._service,
            self._republish_types,
            float(self._window_s),
        )
        count = int(status.rsplit(" ", 1)[-1]) if status.startswith("UPDATE") else 0
        self.republished += count
        log.warning(
            "outbox.republishing",
            rows=count,
            types=self._republish_types,
            window_s=self._window_s,
            reason=reason,
        )
        return count

    def notify(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"outbox-relay-{self._service}")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def flush(self, batch: int | None = None) -> int:
        """Publish up to ``batch`` pending rows (default: the relay's page) in order; return
        how many were sent. Raises the broker's error when a row was not acknowledged, after
        marking those before it."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT id, topic, event_key, event_type, correlation_id, payload"
                " FROM meshq_outbox WHERE service = $1 AND published_at IS NULL"
                " ORDER BY id LIMIT $2",
                self._service,
                batch or self._page,
            )
            if not rows:
                return 0
            sent, error = await self._bus.publish_raw_many(
                [
                    OutgoingRecord(
                        row["topic"],
                        row["event_key"],
                        row["payload"].encode(),
                        {"content-type": "application/json", "x-meshq-type": row["event_type"]},
                        row["correlation_id"],
                    )
                    for row in rows
                ]
            )
            if sent:
                await conn.execute(
                    "UPDATE meshq_outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
                    [row["id"] for row in rows[:sent]],
                )
        self.published += sent
        if error is not None:
            raise error
        return sent

    async def _loop(self) -> None:
        while True:
            try:
                if self._reset is not None:
                    reason, self._reset = self._reset, None
                    try:
                        await self.republish(reason)
                    except Exception:
                        self._reset = reason  # the next pass tries again
                        raise
                while await self.flush() > 0:
                    pass
            except Exception as exc:
                log.warning("outbox.flush_failed", error=f"{type(exc).__name__}: {exc}"[:300])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval)
            self._wake.clear()
