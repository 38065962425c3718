"""PostgreSQL: a pool per service and idempotent schema migrations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import asyncpg
import structlog

from meshq_runtime.settings import PostgresSettings

__all__ = ["Schema", "apply_migrations", "apply_schema", "create_pool", "refused_data"]

log = structlog.get_logger(__name__)

#: What a service keeps in PostgreSQL: (component, its migration statements in order), ...
Schema = Sequence[tuple[str, Sequence[str]]]


def refused_data(exc: BaseException) -> bool:
    """PostgreSQL refused the data itself (class 22: a NUL character in text or JSON, a value
    out of range; class 54: over a limit): sending it again can never succeed. Everything
    else — unreachable, restarting, out of connections, a lost race — may, once the store is
    back (``FailurePolicy.until_stored``)."""
    return isinstance(exc, asyncpg.DataError | asyncpg.ProgramLimitExceededError)


async def create_pool(
    settings: PostgresSettings,
    *,
    min_size: int = 0,
    max_size: int = 5,
    init: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
) -> asyncpg.Pool:
    """A pool; with ``min_size=0`` connections open lazily, so a restart heals by itself.
    ``init`` runs on every new connection (type codecs)."""
    pool = asyncpg.create_pool(
        settings.postgres_url.get_secret_value(),
        min_size=min_size,
        max_size=max_size,
        command_timeout=15,
        init=init,
    )
    await pool
    return pool


async def apply_migrations(pool: asyncpg.Pool, component: str, statements: Sequence[str]) -> int:
    """Run each statement once, in order, recording the version reached per component.

    Statements are numbered by position: append new ones, never edit old ones. Concurrent
    starters serialise on an advisory lock.
    """
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('meshq_schema_version'))")
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS meshq_schema_version ("
            " component text PRIMARY KEY, version integer NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        current = await conn.fetchval(
            "SELECT version FROM meshq_schema_version WHERE component = $1", component
        )
        current = current or 0
        for version, statement in enumerate(statements, start=1):
            if version <= current:
                continue
            await conn.execute(statement)
            log.info("postgres.migrated", component=component, version=version)
        if len(statements) > current:
            await conn.execute(
                "INSERT INTO meshq_schema_version (component, version) VALUES ($1, $2)"
                " ON CONFLICT (component) DO UPDATE SET version = $2, applied_at = now()",
                component,
                len(statements),
            )
        return len(statements)


async def apply_schema(pool: asyncpg.Pool, schema: Schema) -> None:
    """Bring every component of a service's schema up to date (see ``apply_migrations``)."""
    for component, statements in schema:
        await apply_migrations(pool, component, statements)
