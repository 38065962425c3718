"""PostgreSQL state of the license agent: one row per installation, shared by every replica."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg

__all__ = ["MIGRATIONS", "AgentRepository", "AgentRow"]

MIGRATIONS = [
    "CREATE TABLE IF NOT EXISTS license_agent ("
    " singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),"
    " installation_id text NOT NULL, host_facts text NOT NULL,"
    " sealed_state bytea, revision integer NOT NULL DEFAULT 0, published text,"
    " updated_at timestamptz NOT NULL DEFAULT now())",
]

AgentRow = dict[str, Any]


class AgentRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def installation(self, facts: dict[str, str]) -> tuple[str, dict[str, str]]:
        """The installation id and the host facts recorded by its first agent (created once)."""
        await self._pool.execute(
            "INSERT INTO license_agent (installation_id, host_facts) VALUES ($1, $2)"
            " ON CONFLICT DO NOTHING",
            str(uuid.uuid4()),
            json.dumps(facts, sort_keys=True),
        )
        row = await self._pool.fetchrow("SELECT installation_id, host_facts FROM license_agent")
        return row["installation_id"], json.loads(row["host_facts"])

    async def published(self) -> tuple[int, dict[str, Any] | None]:
        row = await self._pool.fetchrow("SELECT revision, published FROM license_agent")
        if row is None or row["published"] is None:
            return 0, None
        return int(row["revision"]), json.loads(row["published"])

    async def snapshot(self) -> AgentRow | None:
        """The sealed state and revision, without the lock; None until the first evaluation."""
        row = await self._pool.fetchrow(
            "SELECT sealed_state, revision, published IS NOT NULL AS evaluated FROM license_agent"
        )
        if row is None or not row["evaluated"]:
            return None
        return {
            "sealed_state": bytes(row["sealed_state"]) if row["sealed_state"] else None,
            "revision": int(row["revision"]),
        }

    @staticmethod
    async def try_lock(conn: asyncpg.Connection) -> bool:
        """One replica at a time validates and publishes (transaction-scoped advisory lock)."""
        return bool(
            await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext('meshq_license_agent'))")
        )

    @staticmethod
    async def load(conn: asyncpg.Connection) -> AgentRow:
        row = await conn.fetchrow(
            "SELECT sealed_state, revision, published FROM license_agent FOR UPDATE"
        )
        return {
            "sealed_state": bytes(row["sealed_state"]) if row["sealed_state"] else None,
            "revision": int(row["revision"]),
            "published": json.loads(row["published"]) if row["published"] else None,
        }

    @staticmethod
    async def save(
        conn: asyncpg.Connection, sealed_state: bytes, revision: int, published: dict[str, Any]
    ) -> None:
        await conn.execute(
            "UPDATE license_agent SET sealed_state = $1, revision = $2, published = $3,"
            " updated_at = now()",
            sealed_state,
            revision,
            json.dumps(published, sort_keys=True),
        )
