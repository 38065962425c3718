"""PostgreSQL storage of the license server. Every value is a bind parameter."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg

__all__ = ["MIGRATIONS", "ServerRepository"]

MIGRATIONS = [
    "CREATE TABLE IF NOT EXISTS license_keys ("
    " id bigserial PRIMARY KEY, key_id text NOT NULL UNIQUE, plan text NOT NULL,"
    " customer text NOT NULL DEFAULT '', secret_sealed bytea NOT NULL,"
    " expiration_date date NOT NULL, max_devices integer NOT NULL,"
    " created_at timestamptz NOT NULL DEFAULT now(), revoked_at timestamptz)",
    "CREATE TABLE IF NOT EXISTS license_devices ("
    " license_id bigint NOT NULL REFERENCES license_keys(id) ON DELETE CASCADE,"
    " fingerprint text NOT NULL, hostname text NOT NULL DEFAULT '',"
    " registered_at timestamptz NOT NULL, last_seen timestamptz NOT NULL,"
    " PRIMARY KEY (license_id, fingerprint))",
    "CREATE TABLE IF NOT EXISTS license_nonces ("
    " key_id text NOT NULL, nonce text NOT NULL, seen_at timestamptz NOT NULL,"
    " PRIMARY KEY (key_id, nonce))",
]


class ServerRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def insert_key(
        self,
        key_id: str,
        plan: str,
        customer: str,
        secret_sealed: bytes,
        expiration_date: date,
        max_devices: int,
    ) -> asyncpg.Record:
        return await self._pool.fetchrow(
            "INSERT INTO license_keys (key_id, plan, customer, secret_sealed, expiration_date,"
            " max_devices) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
            key_id,
            plan,
            customer,
            secret_sealed,
            expiration_date,
            max_devices,
        )

    async def get_key(self, key_id: str) -> asyncpg.Record | None:
        return await self._pool.fetchrow("SELECT * FROM license_keys WHERE key_id = $1", key_id)

    async def renew(self, key_id: str, expiration_date: date) -> asyncpg.Record | None:
        return await self._pool.fetchrow(
            "UPDATE license_keys SET expiration_date = $2 WHERE key_id = $1 RETURNING *",
            key_id,
            expiration_date,
        )

    async def revoke(self, key_id: str, at: datetime) -> asyncpg.Record | None:
        return await self._pool.fetchrow(
            "UPDATE license_keys SET revoked_at = coalesce(revoked_at, $2) WHERE key_id = $1"
            " RETURNING *",
            key_id,
            at,
        )

    async def purge_revoked(self, before: datetime) -> int:
        result = await self._pool.execute(
            "DELETE FROM license_keys WHERE revoked_at IS NOT NULL AND revoked_at < $1", before
        )
        return int(result.split()[-1])

    async def remember_nonce(self, key_id: str, nonce: str, at: datetime) -> bool:
        """False when the nonce was seen before (a replay)."""
        row = await self._pool.fetchval(
            "INSERT INTO license_nonces (key_id, nonce, seen_at) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING RETURNING 1",
            key_id,
            nonce,
            at,
        )
        return row is not None

    async def forget_nonces(self, before: datetime) -> None:
        await self._pool.execute("DELETE FROM license_nonces WHERE seen_at < $1", before)

    async def bind_device(
        self, license_id: int, max_devices: int, fingerprint: str, hostname: str, at: datetime
    ) -> tuple[bool, int]:
        """Register or refresh a fingerprint while seats remain: (bound, devices registered)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT 1 FROM license_keys WHERE id = $1 FOR UPDATE", license_id)
            known = await conn.fetchval(
                "UPDATE license_devices SET last_seen = $3, hostname = $4"
                " WHERE license_id = $1 AND fingerprint = $2 RETURNING 1",
                license_id,
                fingerprint,
                at,
                hostname,
            )
            count = await conn.fetchval(
                "SELECT count(*) FROM license_devices WHERE license_id = $1", license_id
            )
            if known:
                return True, int(count)
            if count >= max_devices:
                return False, int(count)
            await conn.execute(
                "INSERT INTO license_devices (license_id, fingerprint, hostname, registered_at,"
                " last_seen) VALUES ($1, $2, $3, $4, $4)",
                license_id,
                fingerprint,
                hostname,
                at,
            )
            return True, int(count) + 1

    async def devices(self, license_id: int) -> list[dict[str, Any]]:
        rows = await self._pool.fetch(
            "SELECT fingerprint, hostname, registered_at, last_seen FROM license_devices"
            " WHERE license_id = $1 ORDER BY registered_at",
            license_id,
        )
        return [dict(r) for r in rows]

    async def deregister(self, license_id: int, fingerprint: str) -> bool:
        result = await self._pool.execute(
            "DELETE FROM license_devices WHERE license_id = $1 AND fingerprint = $2",
            license_id,
            fingerprint,
        )
        return result.endswith(" 1")
