"""Transactional outbox: events written in the same PostgreSQL transaction as the side effect.

A service calls :func:`enqueue` inside its transaction; :class:`OutboxRelay` publishes the
rows in order and marks them sent. If the process dies between commit and publish, the relay
publishes on the next start: nothing is lost, and consumers dedupe on the event id.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import structlog
from network_discovery.contracts.envelope import EventBase

from meshq_runtime.kafka.broker import EventBus

__all__ = ["OUTBOX_MIGRATIONS", "OutboxRelay", "enqueue"]

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


class OutboxRelay:
    """Publishes a service's pending outbox rows; wake it with :meth:`notify`."""

    def __init__(
        self, pool: asyncpg.Pool, bus: EventBus, service: str, *, interval: float = 1.0
    ) -> None:
        self._pool, self._bus, self._service, self._interval = pool, bus, service, interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.published = 0

    def notify(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"outbox-relay-{self._service}")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def flush(self, batch: int = 200) -> int:
        """Publish pending rows in order; return how many were sent."""
        sent = 0
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT id, topic, event_key, event_type, correlation_id, payload"
                " FROM meshq_outbox WHERE service = $1 AND published_at IS NULL"
                " ORDER BY id LIMIT $2",
                self._service,
                batch,
            )
            for row in rows:
                await self._bus.publish_raw(
                    row["topic"],
                    key=row["event_key"],
                    value=row["payload"].encode(),
                    headers={"content-type": "application/json", "x-meshq-type": row["event_type"]},
                    correlation_id=row["correlation_id"],
                )
                await conn.execute(
                    "UPDATE meshq_outbox SET published_at = now() WHERE id = $1", row["id"]
                )
                sent += 1
        self.published += sent
        return sent

    async def _loop(self) -> None:
        while True:
            try:
                while await self.flush() > 0:
                    pass
            except Exception as exc:
                log.warning("outbox.flush_failed", error=f"{type(exc).__name__}: {exc}"[:300])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval)
            self._wake.clear()
