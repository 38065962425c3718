"""Truncating the audit log is detected: the chain head carries an HMAC, and signed
checkpoints of the head are kept outside the database (the audit service's checkpoint file,
the SIEM stream). The original attack: ``DELETE FROM audit_log WHERE seq > 3`` and the head
moved back to record 3 (or both tables emptied) verified as "intact"."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg
import httpx
import pytest
from meshq_audit.chain import Checkpoint
from support.procs import internal_headers

pytestmark = pytest.mark.integration

N = 6


@pytest.fixture
def env(audit_env: dict[str, str]) -> dict[str, str]:
    return {**audit_env, "MESHQ_AUDIT_CHECKPOINT_INTERVAL_S": "0.2"}


def _file(env: dict[str, str]) -> Path:
    return Path(env["MESHQ_DATA_DIR"]) / "audit" / "checkpoints.jsonl"


def _checkpoints(env: dict[str, str]) -> list[dict]:
    path = _file(env)
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


async def _verify(audit) -> dict:
    headers = internal_headers(audit.env, "cli")
    async with httpx.AsyncClient(base_url=audit.url, headers=headers, timeout=30) as client:
        response = await client.get("/audit/verify")
    assert response.status_code == 200, response.text
    return response.json()


async def _filled(env, spawn, feed, audit_event):
    audit = spawn("meshq_audit", env).wait_healthy()
    await feed(*[audit_event(i) for i in range(1, N + 1)])
    conn = await asyncpg.connect(env["MESHQ_POSTGRES_URL"])
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while not any(c["seq"] == N for c in _checkpoints(env)):  # recorded and checkpointed
        assert loop.time() < deadline, "no checkpoint of the full chain"
        await asyncio.sleep(0.1)
    result = await _verify(audit)
    assert result["ok"] is True and result["checkpoints"] >= 1
    return audit, conn


async def test_a_truncated_log_with_its_old_head_put_back_is_detected(
    env, spawn, feed, audit_event
) -> None:
    audit, conn = await _filled(env, spawn, feed, audit_event)
    # the attacker kept a copy of the head row from when it was at record 3
    head3 = await conn.fetchrow("SELECT entry_hash FROM audit_log WHERE seq = 3")
    async with conn.transaction():
        await conn.execute("DELETE FROM audit_log WHERE seq > 3")
        await conn.execute(
            "UPDATE audit_chain_head SET seq = 3, entry_hash = $1 WHERE id = 1",
            head3["entry_hash"],
        )
    brk = (await _verify(audit))["break"]
    # without the key the head's HMAC cannot follow it back
    assert (brk["seq"], brk["kind"]) == (3, "changed") and "HMAC" in brk["reason"]
    await conn.close()


async def test_a_truncation_that_replays_an_old_signed_head_is_caught_by_the_checkpoint(
    env, spawn, feed, audit_event
) -> None:
    audit = spawn("meshq_audit", env).wait_healthy()
    await feed(*[audit_event(i) for i in range(1, 4)])
    conn = await asyncpg.connect(env["MESHQ_POSTGRES_URL"])
    loop = asyncio.get_running_loop()
    while await conn.fetchval("SELECT seq FROM audit_chain_head") < 3:
        await asyncio.sleep(0.05)
    old_head = await conn.fetchrow("SELECT seq, entry_hash, hmac FROM audit_chain_head")
    await feed(*[audit_event(i) for i in range(4, N + 1)])
    deadline = loop.time() + 60
    while not any(c["seq"] == N for c in _checkpoints(env)):
        assert loop.time() < deadline
        await asyncio.sleep(0.1)
    async with conn.transaction():  # a full copy of the old head row, HMAC included
        await conn.execute("DELETE FROM audit_log WHERE seq > 3")
        await conn.execute(
            "UPDATE audit_chain_head SET seq = $1, entry_hash = $2, hmac = $3 WHERE id = 1",
            old_head["seq"],
            old_head["entry_hash"],
            old_head["hmac"],
        )
    result = await _verify(audit)
    assert result["ok"] is False
    brk = result["break"]
    assert (brk["seq"], brk["kind"]) == (4, "deleted")
    assert "truncated" in brk["reason"] and f"record {N}" in brk["reason"]
    await conn.close()


async def test_an_emptied_log_is_detected(env, spawn, feed, audit_event) -> None:
    audit, conn = await _filled(env, spawn, feed, audit_event)
    async with conn.transaction():
        await conn.execute("DELETE FROM audit_log")
        await conn.execute(
            "UPDATE audit_chain_head SET seq = 0, entry_hash = repeat('0', 64), hmac = NULL"
        )
    result = await _verify(audit)
    assert result["ok"] is False
    assert "truncated" in result["break"]["reason"]
    await conn.close()


async def test_a_forged_checkpoint_line_is_not_trusted(env, spawn, feed, audit_event) -> None:
    audit, conn = await _filled(env, spawn, feed, audit_event)
    forged = Checkpoint.sign(b"not-the-audit-key-at-all", 999, "f" * 64, "2026-01-01T00:00:00")
    with _file(env).open("a") as fh:
        fh.write(json.dumps(forged.as_dict()) + "\n")
    assert (await _verify(audit))["ok"] is True  # the forged line is ignored, not believed
    await conn.close()


async def test_an_unsigned_head_from_an_earlier_version_is_signed_once_the_chain_verifies(
    env, spawn, feed, audit_event
) -> None:
    audit, conn = await _filled(env, spawn, feed, audit_event)
    audit.stop()
    await conn.execute("UPDATE audit_chain_head SET hmac = NULL")
    audit = spawn("meshq_audit", env).wait_healthy()
    assert await conn.fetchval("SELECT hmac FROM audit_chain_head") is not None
    assert (await _verify(audit))["ok"] is True
    await conn.close()
