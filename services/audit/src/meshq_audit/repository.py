"""The audit log in PostgreSQL: an append-only, hash-chained table."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from meshq_runtime.outbox import OUTBOX_MIGRATIONS
from network_discovery.contracts.events import AuditRequestEvent

from meshq_audit.chain import GENESIS_HASH, ChainRow, entry_hash, head_hmac, record_hmac

__all__ = ["GENESIS_HASH", "MIGRATIONS", "AppendResult", "AuditRepository", "entry_hash"]

MIGRATIONS = [
    *OUTBOX_MIGRATIONS,
    "CREATE TABLE IF NOT EXISTS audit_log ("
    " seq bigint PRIMARY KEY, event_id text NOT NULL UNIQUE, event_time timestamptz NOT NULL,"
    " correlation_id text NOT NULL, source text NOT NULL, event_type text NOT NULL,"
    " body jsonb NOT NULL, prev_hash text NOT NULL, entry_hash text NOT NULL,"
    " recorded_at timestamptz NOT NULL DEFAULT now())",
    "CREATE TABLE IF NOT EXISTS audit_chain_head ("
    " id smallint PRIMARY KEY CHECK (id = 1), seq bigint NOT NULL, entry_hash text NOT NULL)",
    "INSERT INTO audit_chain_head (id, seq, entry_hash) VALUES (1, 0, repeat('0', 64))"
    " ON CONFLICT (id) DO NOTHING",
    # HMAC of (seq, entry_hash) under MESHQ_AUDIT_HMAC_KEY; NULL only on rows from before it.
    "ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS hmac text",
    "CREATE INDEX IF NOT EXISTS audit_log_event_time ON audit_log (event_time, seq)",
    # HMAC of the head (its own domain); NULL only on a head from before it, signed at start
    # once the chain verifies.
    "ALTER TABLE audit_chain_head ADD COLUMN IF NOT EXISTS hmac text",
]


@dataclass(frozen=True)
class AppendResult:
    seq: int
    entry_hash: str
    created: bool
    #: The record's body (canonical JSON of the event) when the event was already recorded.
    body: str | None = None


class AuditRepository:
    def __init__(self, pool: asyncpg.Pool, key: bytes) -> None:
        self._pool = pool
        self.key = key

    async def append(self, conn: asyncpg.Connection, event: AuditRequestEvent) -> AppendResult:
        """Append inside the caller's transaction; a known event id appends nothing."""
        existing = await conn.fetchrow(
            "SELECT seq, entry_hash, body::text AS body FROM audit_log WHERE event_id = $1",
            event.id,
        )
        if existing:
            return AppendResult(
                existing["seq"], existing["entry_hash"], created=False, body=existing["body"]
            )
        head = await conn.fetchrow(
            "SELECT seq, entry_hash FROM audit_chain_head WHERE id = 1 FOR UPDATE"
        )
        seq = head["seq"] + 1
        raw = json.dumps(event.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        # Hash what jsonb gives back (it rewrites numbers such as 1e+16), so verify agrees.
        body = _canonical(await conn.fetchval("SELECT $1::jsonb::text", raw))
        digest = entry_hash(head["entry_hash"], seq, body)
        await conn.execute(
            "INSERT INTO audit_log (seq, event_id, event_time, correlation_id, source,"
            " event_type, body, prev_hash, entry_hash, hmac)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10)",
            seq,
            event.id,
            event.time,
            event.correlation_id,
            event.source,
            event.type,
            body,
            head["entry_hash"],
            digest,
            record_hmac(self.key, seq, digest),
        )
        await conn.execute(
            "UPDATE audit_chain_head SET seq = $1, entry_hash = $2, hmac = $3 WHERE id = 1",
            seq,
            digest,
            head_hmac(self.key, seq, digest),
        )
        return AppendResult(seq, digest, created=True)

    async def count(self) -> int:
        return int(await self._pool.fetchval("SELECT count(*) FROM audit_log"))

    async def head(self) -> tuple[int, str]:
        row = await self._pool.fetchrow("SELECT seq, entry_hash FROM audit_chain_head WHERE id = 1")
        return (int(row["seq"]), str(row["entry_hash"])) if row else (0, GENESIS_HASH)

    async def head_signature(self) -> str | None:
        """The head's HMAC (None: unsigned, or no head row at all)."""
        value = await self._pool.fetchval("SELECT hmac FROM audit_chain_head WHERE id = 1")
        return None if value is None else str(value)

    async def sign_head(self, seq: int, digest: str) -> bool:
        """Sign the head if it is still at ``seq``/``digest`` and unsigned."""
        status = await self._pool.execute(
            "UPDATE audit_chain_head SET hmac = $3 WHERE id = 1 AND seq = $1"
            " AND entry_hash = $2 AND hmac IS NULL",
            seq,
            digest,
            head_hmac(self.key, seq, digest),
        )
        return status.endswith(" 1")

    async def entry_hash_at(self, seq: int) -> str | None:
        value = await self._pool.fetchval("SELECT entry_hash FROM audit_log WHERE seq = $1", seq)
        return None if value is None else str(value)

    async def hash_before(self, seq: int) -> str | None:
        """The entry hash of record ``seq - 1`` (the genesis hash before record 1)."""
        if seq <= 1:
            return GENESIS_HASH
        value = await self._pool.fetchval(
            "SELECT entry_hash FROM audit_log WHERE seq = $1", seq - 1
        )
        return None if value is None else str(value)

    async def chain_rows(self, start: int, page: int = 2000) -> AsyncIterator[ChainRow]:
        """Every record from ``start`` in seq order, page by page (the body re-serialised)."""
        after = start - 1
        while True:
            batch = await self._pool.fetch(
                "SELECT seq, event_id, body::text AS body, prev_hash, entry_hash, hmac"
                " FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                after,
                page,
            )
            for r in batch:
                yield ChainRow(
                    r["seq"],
                    r["event_id"],
                    _canonical(r["body"]),
                    r["prev_hash"],
                    r["entry_hash"],
                    r["hmac"],
                )
            if len(batch) < page:
                return
            after = batch[-1]["seq"]

    async def export(
        self, since: datetime | None, page: int = 1000
    ) -> AsyncIterator[dict[str, Any]]:
        """Records at or after ``since`` (event time), in seq order, page by page."""
        after = 0
        while True:
            batch = await self._pool.fetch(
                "SELECT seq, event_id, event_time, recorded_at, correlation_id, source,"
                " event_type, body::text AS body, prev_hash, entry_hash, hmac FROM audit_log"
                " WHERE seq > $1 AND ($2::timestamptz IS NULL OR event_time >= $2)"
                " ORDER BY seq LIMIT $3",
                after,
                since,
                page,
            )
            for r in batch:
                record = dict(r)
                record["event"] = json.loads(record.pop("body"))
                yield record
            if len(batch) < page:
                return
            after = batch[-1]["seq"]


def _canonical(body: str) -> str:
    """jsonb does not keep the text it was given: re-serialise canonically."""
    return json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
