"""A PostgreSQL database of a test's own, so that what a service keeps there (the audit chain,
SOAR dead letters, outbox rows) holds only that test's rows."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from meshq_runtime.postgres import Schema, apply_schema, create_pool
from meshq_runtime.settings import PostgresSettings

__all__ = ["fresh_database", "fresh_database_sync", "migrated_pool", "with_database"]


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def _on_server(server_url: str, statement: str) -> None:
    server = await asyncpg.connect(server_url)
    try:
        await server.execute(statement)
    finally:
        await server.close()


def _new_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"  # generated here, never user input


@asynccontextmanager
async def fresh_database(server_url: str, prefix: str = "meshq_t") -> AsyncIterator[str]:
    """Create a database on the server of ``server_url``; yield its URL; drop it after."""
    name = _new_name(prefix)
    await _on_server(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server_url, name)
    finally:
        await _on_server(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database_sync(server_url: str, prefix: str = "meshq_t") -> Iterator[str]:
    """``fresh_database`` where no event loop runs (a synchronous fixture)."""
    name = _new_name(prefix)
    asyncio.run(_on_server(server_url, f'CREATE DATABASE "{name}"'))
    try:
        yield with_database(server_url, name)
    finally:
        asyncio.run(_on_server(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@asynccontextmanager
async def migrated_pool(
    server_url: str,
    prefix: str,
    schema: Schema,
    init: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh database (``fresh_database``) with ``schema`` applied; closed, and
    the database dropped, after."""
    async with fresh_database(server_url, prefix) as url:
        settings = PostgresSettings.model_validate({"postgres_url": url})
        pool = await create_pool(settings, init=init)
        try:
            await apply_schema(pool, schema)
            yield pool
        finally:
            await pool.close()
