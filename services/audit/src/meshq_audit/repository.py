"""The audit log in PostgreSQL: an append-only, hash-chained table."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import asyncpg
from meshq_runtime.outbox import OUTBOX_MIGRATIONS
from network_discovery.contracts.events import AuditRequestEvent

__all__ = ["GENESIS_HASH", "MIGRATIONS", "AppendResult", "AuditRepository", "entry_hash"]

GENESIS_HASH = "0" * 64

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
]


def entry_hash(prev_hash: str, seq: int, body: str) -> str:
    """SHA-256 over the previous hash, the position and the canonical JSON body."""
    digest = hashlib.sha256()
    digest.update(prev_hash.encode())
    digest.update(b"\x1f")
    digest.update(str(seq).encode())
    digest.update(b"\x1f")
    digest.update(body.encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class AppendResult:
    seq: int
    entry_hash: str
    created: bool


class AuditRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def append(self, conn: asyncpg.Connection, event: AuditRequestEvent) -> AppendResult:
        """Append inside the caller's transaction; a known event id appends nothing."""
        existing = await conn.fetchrow(
            "SELECT seq, entry_hash FROM audit_log WHERE event_id = $1", event.id
        )
        if existing:
            return AppendResult(existing["seq"], existing["entry_hash"], created=False)
        head = await conn.fetchrow(
            "SELECT seq, entry_hash FROM audit_chain_head WHERE id = 1 FOR UPDATE"
        )
        seq = head["seq"] + 1
        body = json.dumps(event.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        digest = entry_hash(head["entry_hash"], seq, body)
        await conn.execute(
            "INSERT INTO audit_log (seq, event_id, event_time, correlation_id, source,"
            " event_type, body, prev_hash, entry_hash)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)",
            seq,
            event.id,
            event.time,
            event.correlation_id,
            event.source,
            event.type,
            body,
            head["entry_hash"],
            digest,
        )
        await conn.execute(
            "UPDATE audit_chain_head SET seq = $1, entry_hash = $2 WHERE id = 1", seq, digest
        )
        return AppendResult(seq, digest, created=True)

    async def count(self) -> int:
        return int(await self._pool.fetchval("SELECT count(*) FROM audit_log"))
