"""``GET /audit/verify`` names the first record that was changed, deleted, inserted or reordered."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import httpx
import pytest
from meshq_audit.chain import entry_hash
from support.procs import internal_headers

pytestmark = pytest.mark.integration

N = 6


async def _fill(audit_env, spawn, feed, audit_event):
    audit = spawn("meshq_audit", audit_env).wait_healthy()
    await feed(*[audit_event(i) for i in range(1, N + 1)])
    conn = await asyncpg.connect(audit_env["MESHQ_POSTGRES_URL"])

    async def count() -> int:
        return int(await conn.fetchval("SELECT count(*) FROM audit_log"))

    # Partitions may interleave: wait for all N, then verify the untouched chain.
    deadline = asyncio.get_running_loop().time() + 60
    while await count() < N:
        assert asyncio.get_running_loop().time() < deadline, "audit log never filled"
        await asyncio.sleep(0.1)
    assert (await _verify(audit))["ok"] is True
    return audit, conn


async def _verify(audit, start: int | None = None) -> dict:
    params = {"from": start} if start else {}
    headers = internal_headers(audit.env, "cli")
    async with httpx.AsyncClient(base_url=audit.url, headers=headers, timeout=30) as client:
        response = await client.get("/audit/verify", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_updated_row(audit_env, spawn, feed, audit_event) -> None:
    audit, conn = await _fill(audit_env, spawn, feed, audit_event)
    await conn.execute(
        "UPDATE audit_log SET body = jsonb_set(body, '{data,status}', '500') WHERE seq = 3"
    )
    result = await _verify(audit)
    assert result["ok"] is False
    assert result["break"]["seq"] == 3 and result["break"]["kind"] == "changed"
    await conn.close()


async def test_deleted_row(audit_env, spawn, feed, audit_event) -> None:
    audit, conn = await _fill(audit_env, spawn, feed, audit_event)
    await conn.execute("DELETE FROM audit_log WHERE seq = 4")
    brk = (await _verify(audit))["break"]
    assert (brk["seq"], brk["kind"]) == (4, "deleted")
    # the last record deleted: the chain head still remembers it
    await conn.execute("DELETE FROM audit_log WHERE seq = $1", N)
    brk = (await _verify(audit, start=N))["break"]
    assert (brk["seq"], brk["kind"]) == (N, "deleted")
    await conn.close()


async def test_inserted_row(audit_env, spawn, feed, audit_event) -> None:
    audit, conn = await _fill(audit_env, spawn, feed, audit_event)
    async with conn.transaction():
        rows = await conn.fetch("SELECT seq FROM audit_log WHERE seq >= 3 ORDER BY seq DESC")
        for r in rows:
            await conn.execute("UPDATE audit_log SET seq = seq + 1 WHERE seq = $1", r["seq"])
        prev = await conn.fetchval("SELECT entry_hash FROM audit_log WHERE seq = 2")
        body = json.dumps({"forged": True}, sort_keys=True, separators=(",", ":"))
        await conn.execute(
            "INSERT INTO audit_log (seq, event_id, event_time, correlation_id, source,"
            " event_type, body, prev_hash, entry_hash, hmac)"
            " VALUES (3, 'forged', now(), 'c', 'x', 'audit.request', $1::jsonb, $2, $3, $4)",
            body,
            prev,
            entry_hash(prev, 3, body),
            "0" * 64,
        )
    brk = (await _verify(audit))["break"]
    assert (brk["seq"], brk["kind"], brk["event_id"]) == (3, "inserted", "forged")
    await conn.close()


async def test_swapped_pair(audit_env, spawn, feed, audit_event) -> None:
    audit, conn = await _fill(audit_env, spawn, feed, audit_event)
    async with conn.transaction():
        await conn.execute("UPDATE audit_log SET seq = -1 WHERE seq = 2")
        await conn.execute("UPDATE audit_log SET seq = 2 WHERE seq = 3")
        await conn.execute("UPDATE audit_log SET seq = 3 WHERE seq = -1")
    brk = (await _verify(audit))["break"]
    assert (brk["seq"], brk["kind"]) == (2, "reordered")
    await conn.close()


async def test_chain_rebuilt_without_the_key(audit_env, spawn, feed, audit_event) -> None:
    audit, conn = await _fill(audit_env, spawn, feed, audit_event)
    async with conn.transaction():
        rows = await conn.fetch(
            "SELECT seq, body::text AS body, prev_hash FROM audit_log ORDER BY seq"
        )
        prev = rows[1]["prev_hash"]
        for r in rows[1:]:
            body = json.loads(r["body"])
            if r["seq"] == 2:
                body["data"]["principal"] = "someone-else"
            text = json.dumps(body, sort_keys=True, separators=(",", ":"))
            digest = entry_hash(prev, r["seq"], text)
            await conn.execute(
                "UPDATE audit_log SET body = $1::jsonb, prev_hash = $2, entry_hash = $3"
                " WHERE seq = $4",
                text,
                prev,
                digest,
                r["seq"],
            )
            prev = digest
        await conn.execute("UPDATE audit_chain_head SET entry_hash = $1 WHERE id = 1", prev)
    brk = (await _verify(audit))["break"]
    assert (brk["seq"], brk["kind"]) == (2, "changed")
    assert "HMAC" in brk["reason"]
    await conn.close()


async def test_verify_from_and_awkward_numbers(audit_env, spawn, feed, audit_event) -> None:
    audit, conn = await _fill(audit_env, spawn, feed, audit_event)
    result = await _verify(audit, start=4)
    assert result["ok"] and result["checked"] == N - 3
    # jsonb rewrites some numbers (1e+16 comes back as 10000000000000000): still intact
    params = {"big": 1e16, "tiny": 1e-7, "third": 1 / 3, "huge": 2**70, "text": "é\u0001"}
    await feed(audit_event(N + 1, params=params))
    deadline = asyncio.get_running_loop().time() + 60
    while await conn.fetchval("SELECT count(*) FROM audit_log") < N + 1:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.1)
    result = await _verify(audit)
    assert result["ok"], result
    assert result["checked"] == N + 1
    await conn.close()
