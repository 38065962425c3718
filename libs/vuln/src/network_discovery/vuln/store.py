"""Where loaded advisories are kept: PostgreSQL when ``MESHQ_POSTGRES_URL`` is set, else a
SQLite file in the data directory (``$MESHQ_DATA_DIR/vuln/advisories.sqlite3``).

A record is kept under its ``key`` with a digest of its content: loading it again changes
nothing (``unchanged``), loading a new revision of it replaces it (``updated``). Every load
that changes something moves the store's generation on, so a reader keeps the parsed records
in memory and re-reads them only when the generation has moved.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from network_discovery.vuln.model import Advisory

__all__ = [
    "AdvisoryStore",
    "LoadCounts",
    "PostgresAdvisoryStore",
    "SqliteAdvisoryStore",
    "StoreUnavailable",
    "open_store",
]

_CHUNK = 500


class StoreUnavailable(Exception):
    """The advisory store cannot be read or written (PostgreSQL refused or is away, the SQLite
    file cannot be opened); the message says which and why."""


def _asyncpg() -> Any:
    try:
        import asyncpg
    except ImportError:  # the customer package without the [postgres] extra
        raise StoreUnavailable(
            "the advisory store in PostgreSQL needs asyncpg: "
            "pip install 'meshoptixiq-vuln[postgres]'"
        ) from None
    return asyncpg


@dataclass(frozen=True)
class LoadCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: LoadCounts) -> LoadCounts:
        return LoadCounts(
            self.new + other.new, self.updated + other.updated, self.unchanged + other.unchanged
        )


def _digest(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def _prepare(records: Sequence[Advisory]) -> dict[str, tuple[str, str, str]]:
    """key -> (source, digest, body); the last record of a key wins."""
    out: dict[str, tuple[str, str, str]] = {}
    for record in records:
        body = record.model_dump_json()
        out[record.key] = (record.source, _digest(body), body)
    return out


class AdvisoryStore(Protocol):
    async def load(self, records: Sequence[Advisory]) -> LoadCounts: ...
    async def all(self) -> list[Advisory]: ...
    async def count(self) -> int: ...
    async def close(self) -> None: ...


class _Cache:
    def __init__(self) -> None:
        self.generation: int | None = None
        self.records: list[Advisory] = []


# --- SQLite ----------------------------------------------------------------------------------

_SQLITE_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS vuln_advisories (key TEXT PRIMARY KEY, source TEXT NOT NULL, "
    "digest TEXT NOT NULL, body TEXT NOT NULL, loaded_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS vuln_generation (id INTEGER PRIMARY KEY CHECK (id = 1), "
    "generation INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO vuln_generation (id, generation) VALUES (1, 0)",
)


class SqliteAdvisoryStore:
    """The embedded store: one SQLite file, used from a worker thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cache = _Cache()
        self._lock = asyncio.Lock()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30)
        for statement in _SQLITE_SCHEMA:
            conn.execute(statement)
        conn.commit()
        return conn

    def _load(self, records: Sequence[Advisory]) -> LoadCounts:
        prepared = _prepare(records)
        conn = self._connect()
        try:
            with conn:
                existing: dict[str, str] = {}
                keys = list(prepared)
                for i in range(0, len(keys), _CHUNK):
                    part = keys[i : i + _CHUNK]
                    marks = ",".join("?" * len(part))
                    query = f"SELECT key, digest FROM vuln_advisories WHERE key IN ({marks})"  # noqa: S608 (placeholders only)
                    existing.update(conn.execute(query, part).fetchall())
                changed = [
                    (key, source, digest, body)
                    for key, (source, digest, body) in prepared.items()
                    if existing.get(key) != digest
                ]
                conn.executemany(
                    "INSERT INTO vuln_advisories (key, source, digest, body, loaded_at) "
                    "VALUES (?, ?, ?, ?, datetime('now')) ON CONFLICT (key) DO UPDATE SET "
                    "source = excluded.source, digest = excluded.digest, body = excluded.body, "
                    "loaded_at = excluded.loaded_at",
                    changed,
                )
                if changed:
                    conn.execute("UPDATE vuln_generation SET generation = generation + 1")
        finally:
            conn.close()
        new = sum(1 for key in prepared if key not in existing)
        updated = len(changed) - new
        return LoadCounts(new, updated, len(prepared) - len(changed))

    def _read(self) -> tuple[int, list[str] | None]:
        conn = self._connect()
        try:
            generation = conn.execute("SELECT generation FROM vuln_generation").fetchone()[0]
            if generation == self._cache.generation:
                return generation, None
            rows = conn.execute("SELECT body FROM vuln_advisories ORDER BY key").fetchall()
            return generation, [r[0] for r in rows]
        finally:
            conn.close()

    async def _thread(self, func: Any, *args: Any) -> Any:
        try:
            return await asyncio.to_thread(func, *args)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"{self.path}: {exc}"[:300]) from None

    async def load(self, records: Sequence[Advisory]) -> LoadCounts:
        async with self._lock:
            counts: LoadCounts = await self._thread(self._load, records)
            return counts

    async def all(self) -> list[Advisory]:
        async with self._lock:
            generation, bodies = await self._thread(self._read)
            if bodies is not None:
                self._cache.records = [Advisory.model_validate_json(b) for b in bodies]
                self._cache.generation = generation
            return list(self._cache.records)

    async def count(self) -> int:
        def run() -> int:
            conn = self._connect()
            try:
                return int(conn.execute("SELECT count(*) FROM vuln_advisories").fetchone()[0])
            finally:
                conn.close()

        found: int = await self._thread(run)
        return found

    async def close(self) -> None:
        return None


# --- PostgreSQL ------------------------------------------------------------------------------

_PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS vuln_advisories (
    key text PRIMARY KEY,
    source text NOT NULL,
    digest text NOT NULL,
    body jsonb NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS vuln_generation (
    id int PRIMARY KEY CHECK (id = 1),
    generation bigint NOT NULL
);
INSERT INTO vuln_generation (id, generation) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
"""


class PostgresAdvisoryStore:
    """The store in PostgreSQL; a connection per call (loads and scans are seldom)."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._cache = _Cache()
        self._ready = False
        self._lock = asyncio.Lock()

    async def _connect(self) -> Any:
        asyncpg = _asyncpg()
        try:
            conn = await asyncpg.connect(self._url, timeout=10)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            raise StoreUnavailable(f"PostgreSQL: {exc}"[:300]) from None
        if not self._ready:
            # two writers creating the tables at once: the advisory lock orders them
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext('meshq.vuln.schema'))")
                await conn.execute(_PG_SCHEMA)
            self._ready = True
        return conn

    async def _load(self, records: Sequence[Advisory]) -> LoadCounts:
        prepared = _prepare(records)
        conn = await self._connect()
        try:
            async with conn.transaction():
                rows = await conn.fetch(
                    "SELECT key, digest FROM vuln_advisories WHERE key = ANY($1::text[])",
                    list(prepared),
                )
                existing = {r["key"]: r["digest"] for r in rows}
                changed = [
                    (key, source, digest, body)
                    for key, (source, digest, body) in prepared.items()
                    if existing.get(key) != digest
                ]
                await conn.executemany(
                    "INSERT INTO vuln_advisories (key, source, digest, body) "
                    "VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (key) DO UPDATE SET "
                    "source = excluded.source, digest = excluded.digest, body = excluded.body, "
                    "loaded_at = now()",
                    changed,
                )
                if changed:
                    await conn.execute("UPDATE vuln_generation SET generation = generation + 1")
        finally:
            await conn.close()
        new = sum(1 for key in prepared if key not in existing)
        return LoadCounts(new, len(changed) - new, len(prepared) - len(changed))

    async def _all(self) -> list[Advisory]:
        async with self._lock:
            conn = await self._connect()
            try:
                generation = await conn.fetchval("SELECT generation FROM vuln_generation")
                if generation != self._cache.generation:
                    rows = await conn.fetch("SELECT body FROM vuln_advisories ORDER BY key")
                    self._cache.records = [Advisory.model_validate_json(r["body"]) for r in rows]
                    self._cache.generation = generation
            finally:
                await conn.close()
            return list(self._cache.records)

    async def _count(self) -> int:
        conn = await self._connect()
        try:
            return int(await conn.fetchval("SELECT count(*) FROM vuln_advisories"))
        finally:
            await conn.close()

    async def _guarded(self, call: Any) -> Any:
        asyncpg = _asyncpg()
        try:
            return await call
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            raise StoreUnavailable(f"PostgreSQL: {exc}"[:300]) from None

    async def load(self, records: Sequence[Advisory]) -> LoadCounts:
        counts: LoadCounts = await self._guarded(self._load(records))
        return counts

    async def all(self) -> list[Advisory]:
        records: list[Advisory] = await self._guarded(self._all())
        return records

    async def count(self) -> int:
        found: int = await self._guarded(self._count())
        return found

    async def close(self) -> None:
        return None


def open_store(env: Mapping[str, str] | None = None) -> AdvisoryStore:
    """The store this installation keeps advisories in: ``MESHQ_POSTGRES_URL``, else
    ``$MESHQ_DATA_DIR/vuln/advisories.sqlite3`` (data directory default
    ``~/.meshoptixiq/data``)."""
    values = os.environ if env is None else env
    url = values.get("MESHQ_POSTGRES_URL", "").strip()
    if url:
        return PostgresAdvisoryStore(url)
    data = values.get("MESHQ_DATA_DIR", "").strip()
    root = Path(data) if data else Path.home() / ".meshoptixiq" / "data"
    return SqliteAdvisoryStore(root / "vuln" / "advisories.sqlite3")
