"""What the dispatcher keeps in PostgreSQL: one row per (audit event, rule) it dispatched, and
the dead letters, so that neither depends on the broker's log.

- ``soar_dispatch``: the outcome per idempotency key. An ``audit.recorded`` that comes again
  (Kafka re-delivered it, or the audit service announced it again after the broker lost its
  log) finds its key here and sends nothing: one webhook per (call, rule).
- ``soar_dead_letters``: every dead letter with its whole event (body, idempotency key), until
  a replay sends it again; ``meshq soar replay`` reads them here, after any restart.

The ``soar.dispatched`` and ``soar.dead-lettered`` events are written to the outbox in the same
transaction and published by the relay.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from meshq_runtime.outbox import enqueue
from network_discovery.contracts.events import SoarDeadLettered, SoarDispatched

__all__ = ["MIGRATIONS", "DeadLetterRow", "DispatchLog"]

MIGRATIONS = [
    "CREATE TABLE IF NOT EXISTS soar_dispatch ("
    " idempotency_key text PRIMARY KEY, audit_event_id text NOT NULL, rule_name text NOT NULL,"
    " outcome text NOT NULL, attempts integer NOT NULL, status_code integer, error text,"
    " dispatched_at timestamptz NOT NULL DEFAULT now())",
    "CREATE TABLE IF NOT EXISTS soar_dead_letters ("
    " id bigserial PRIMARY KEY, event_id text NOT NULL UNIQUE, idempotency_key text NOT NULL,"
    " audit_event_id text NOT NULL, rule_name text NOT NULL, error text, body text NOT NULL,"
    " created_at timestamptz NOT NULL DEFAULT now(), replayed_at timestamptz,"
    " replay_outcome text)",
    "CREATE INDEX IF NOT EXISTS soar_dead_letters_pending ON soar_dead_letters (id)"
    " WHERE replayed_at IS NULL",
]


@dataclass(frozen=True)
class DeadLetterRow:
    id: int
    event: SoarDeadLettered


class DispatchLog:
    def __init__(self, pool: asyncpg.Pool, service: str) -> None:
        self._pool = pool
        self._service = service

    async def dispatched(self, key: str) -> str | None:
        """The outcome already recorded for an idempotency key, if any."""
        value = await self._pool.fetchval(
            "SELECT outcome FROM soar_dispatch WHERE idempotency_key = $1", key
        )
        return None if value is None else str(value)

    async def record(
        self,
        outcome: SoarDispatched,
        dead: SoarDeadLettered | None,
        *,
        replaces: int | None = None,
    ) -> None:
        """Keep the outcome (and the dead letter), mark the letter a replay sent again, and
        queue the events, in one transaction."""
        data = outcome.data
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO soar_dispatch (idempotency_key, audit_event_id, rule_name, outcome,"
                " attempts, status_code, error) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                " ON CONFLICT (idempotency_key) DO UPDATE SET outcome = $4, attempts = $5,"
                " status_code = $6, error = $7, dispatched_at = now()",
                data.idempotency_key,
                data.audit_event_id,
                data.rule_name,
                data.outcome,
                data.attempts,
                data.status_code,
                data.error,
            )
            if replaces is not None:
                await conn.execute(
                    "UPDATE soar_dead_letters SET replayed_at = now(), replay_outcome = $2"
                    " WHERE id = $1",
                    replaces,
                    data.outcome,
                )
            await enqueue(conn, self._service, outcome)
            if dead is not None:
                await self._insert(conn, dead)
                await enqueue(conn, self._service, dead)

    async def keep(self, dead: SoarDeadLettered) -> bool:
        """Keep a dead letter found elsewhere (the topic, from an earlier version); False when
        it is already kept."""
        async with self._pool.acquire() as conn:
            return await self._insert(conn, dead)

    async def _insert(self, conn: asyncpg.Connection, dead: SoarDeadLettered) -> bool:
        data = dead.data
        status = await conn.execute(
            "INSERT INTO soar_dead_letters (event_id, idempotency_key, audit_event_id,"
            " rule_name, error, body) VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (event_id) DO NOTHING",
            dead.id,
            data.idempotency_key or "",
            data.audit_event_id,
            data.rule_name,
            data.error,
            dead.model_dump_json(),
        )
        return bool(status.endswith(" 1"))

    async def pending(self) -> list[DeadLetterRow]:
        """Dead letters not replayed yet, oldest first (those written while a replay runs
        wait for the next one)."""
        rows = await self._pool.fetch(
            "SELECT id, body FROM soar_dead_letters WHERE replayed_at IS NULL ORDER BY id"
        )
        return [
            DeadLetterRow(r["id"], SoarDeadLettered.model_validate_json(r["body"])) for r in rows
        ]

    async def counts(self) -> dict[str, int]:
        row = await self._pool.fetchrow(
            "SELECT count(*) FILTER (WHERE replayed_at IS NULL) AS pending,"
            " count(*) AS total FROM soar_dead_letters"
        )
        return {"pending": int(row["pending"]), "total": int(row["total"])}
