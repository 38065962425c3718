"""A PostgreSQL database of a test's own, so that what a service keeps there (the audit chain,
SOAR dead letters, outbox rows) holds only that test's rows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from meshq_runtime.postgres import Schema, apply_schema, create_pool
from meshq_runtime.settings import PostgresSettings

__all__ = ["fresh_database", "migrated_pool", "with_database"]


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@asynccontextmanager
async def fresh_database(server_url: str, prefix: str = "meshq_t") -> AsyncIterator[str]:
    """Create a database on the server of ``server_url``; yield its URL; drop it after."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"  # generated here, never user input
    server = await asyncpg.connect(server_url)
    try:
        await server.execute(f'CREATE DATABASE "{name}"')
    finally:
        await server.close()
    try:
        yield with_database(server_url, name)
    finally:
        server = await asyncpg.connect(server_url)
        try:
            await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await server.close()


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
