"""The audit log in PostgreSQL: an append-only, hash-chained table.

Events are appended a batch at a time, in one transaction (the caller's): the chain head is
locked first (``FOR UPDATE``: appenders queue behind it), the batch's event ids already in the
log are looked up, the new bodies are put in canonical form by one jsonb round trip, the hash
chain is computed over the batch in order (:func:`plan_batch`), and the records go in with one
``COPY``, the head moving once to the last of them. An event id already in the log,
or earlier in the same batch, appends nothing: its result names the record it already has.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from meshq_runtime.outbox import OUTBOX_MIGRATIONS
from network_discovery.contracts.events import AuditRequestEvent

from meshq_audit.chain import GENESIS_HASH, ChainRow, entry_hash, head_hmac, link

__all__ = [
    "GENESIS_HASH",
    "MIGRATIONS",
    "AppendResult",
    "AuditRepository",
    "entry_hash",
    "plan_batch",
]

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


#: The columns a batch writes with ``COPY`` (``recorded_at`` takes its default).
_COLUMNS = (
    "seq",
    "event_id",
    "event_time",
    "correlation_id",
    "source",
    "event_type",
    "body",
    "prev_hash",
    "entry_hash",
    "hmac",
)


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
        (result,) = await self.append_batch(conn, [event])
        return result

    async def append_batch(
        self, conn: asyncpg.Connection, events: Sequence[AuditRequestEvent]
    ) -> list[AppendResult]:
        """Append ``events`` in order inside the caller's transaction (see the module's
        docstring); one result per event, in the same order."""
        if not events:
            return []
        head = await conn.fetchrow(
            "SELECT seq, entry_hash FROM audit_chain_head WHERE id = 1 FOR UPDATE"
        )
        ids = list(dict.fromkeys(e.id for e in events))
        known = {
            r["event_id"]: AppendResult(r["seq"], r["entry_hash"], created=False, body=r["body"])
            for r in await conn.fetch(
                "SELECT event_id, seq, entry_hash, body::text AS body FROM audit_log"
                " WHERE event_id = ANY($1::text[])",
                ids,
            )
        }
        fresh: dict[str, AuditRequestEvent] = {}  # the first event of each new id
        for event in events:
            if event.id not in known:
                fresh.setdefault(event.id, event)
        bodies = await _canonical_bodies(conn, list(fresh.values()))
        rows, results = plan_batch(
            self.key,
            head["seq"],
            head["entry_hash"],
            [(e.id, bodies.get(e.id)) for e in events],
            known,
        )
        if not rows:
            return results
        await conn.copy_records_to_table(
            "audit_log",
            columns=_COLUMNS,
            records=[
                (
                    r.seq,
                    r.event_id,
                    fresh[r.event_id].time,
                    fresh[r.event_id].correlation_id,
                    fresh[r.event_id].source,
                    fresh[r.event_id].type,
                    r.body,
                    r.prev_hash,
                    r.entry_hash,
                    r.hmac,
                )
                for r in rows
            ],
        )
        last = rows[-1]
        await conn.execute(
            "UPDATE audit_chain_head SET seq = $1, entry_hash = $2, hmac = $3 WHERE id = 1",
            last.seq,
            last.entry_hash,
            head_hmac(self.key, last.seq, last.entry_hash),
        )
        return results

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


def plan_batch(
    key: bytes,
    head_seq: int,
    head_hash: str,
    batch: Sequence[tuple[str, str | None]],
    known: Mapping[str, AppendResult],
) -> tuple[list[ChainRow], list[AppendResult]]:
    """The records a batch appends after the head, and the result of each of its events.

    ``batch`` is (event id, canonical body) per event, in order; ``known`` the results of the
    ids already in the log. An id already in the log, or earlier in the batch, appends nothing
    (``created`` False, with the body of the record it has); the others are chained in order,
    each record linked to the one before it and the first to the head (as
    :func:`~meshq_audit.chain.extend` does). A body may be None only for an id that appends
    nothing.
    """
    rows: list[ChainRow] = []
    results: list[AppendResult] = []
    firsts: dict[str, AppendResult] = {}  # what a repeat later in the batch is told
    seq, prev = head_seq, head_hash
    for event_id, body in batch:
        before = known.get(event_id) or firsts.get(event_id)
        if before is not None:
            results.append(before)
            continue
        if body is None:
            raise ValueError(f"event {event_id} appends a record but has no body")
        seq += 1
        row = link(key, prev, seq, event_id, body)
        rows.append(row)
        results.append(AppendResult(seq, row.entry_hash, created=True))
        firsts[event_id] = AppendResult(seq, row.entry_hash, created=False, body=body)
        prev = row.entry_hash
    return rows, results


async def _canonical_bodies(
    conn: asyncpg.Connection, events: Sequence[AuditRequestEvent]
) -> dict[str, str]:
    """Each event's body as the chain hashes it: its JSON as jsonb gives it back, in canonical
    form, so that verify (which re-reads the stored jsonb) agrees.

    jsonb keeps every string, integer and plain decimal as it reads it: for a body without a
    number in exponent form or a negative zero, re-serialising its JSON here gives what the
    round trip through jsonb would, and no query is needed. The others (jsonb writes 1e16 as
    10000000000000000, an integer, and -0.0 as 0.0) take the round trip, all in one query."""
    bodies: dict[str, str] = {}
    rewritten: list[tuple[str, str]] = []  # (event id, JSON) of what jsonb would rewrite
    for event in events:
        raw = event.model_dump_json()
        try:
            bodies[event.id] = _CANONICAL.encode(_AS_JSONB.decode(raw))
        except _JsonbRewrites:
            rewritten.append((event.id, raw))
    if rewritten:
        texts = await conn.fetch(
            "SELECT b::jsonb::text AS body FROM unnest($1::text[]) WITH ORDINALITY AS u(b, n)"
            " ORDER BY n",
            [raw for _, raw in rewritten],
        )
        for (event_id, _), r in zip(rewritten, texts, strict=True):
            bodies[event_id] = _canonical(r["body"])
    return bodies


class _JsonbRewrites(ValueError):
    """A number that jsonb would not give back as Python reads it."""


def _plain_float(token: str) -> float:
    """A JSON number with a fraction or an exponent, as jsonb gives it back and Python reads
    that: jsonb keeps a plain decimal's digits (so Python reads the same float), but writes an
    exponent out in full (``1e16`` comes back an integer) and drops the sign of zero."""
    if "e" in token or "E" in token:
        raise _JsonbRewrites(token)
    value = float(token)
    if value == 0.0 and token.startswith("-"):
        raise _JsonbRewrites(token)
    return value


#: Reads an event's JSON as it reads back from jsonb (see :func:`_plain_float`).
_AS_JSONB = json.JSONDecoder(parse_float=_plain_float)
#: The chain's canonical form: sorted keys, no spaces, ASCII (``json.dumps`` with these).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def _canonical(body: str) -> str:
    """jsonb does not keep the text it was given: re-serialise canonically."""
    return _CANONICAL.encode(json.loads(body))
