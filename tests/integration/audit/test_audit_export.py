"""``GET /audit/export``: JSON lines or CSV, from a point in time, problem+json on bad input."""

from __future__ import annotations

import asyncio
import csv
import io
import json

import asyncpg
import httpx
import pytest
from support.procs import internal_headers

pytestmark = pytest.mark.integration


async def test_export_jsonl_and_csv(audit_env, spawn, feed, audit_event) -> None:
    audit = spawn("meshq_audit", audit_env).wait_healthy()
    await feed(*[audit_event(i) for i in range(1, 4)])
    conn = await asyncpg.connect(audit_env["MESHQ_POSTGRES_URL"])
    try:
        deadline = asyncio.get_running_loop().time() + 60
        while await conn.fetchval("SELECT count(*) FROM audit_log") < 3:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    headers = internal_headers(audit_env, "cli")
    async with httpx.AsyncClient(base_url=audit.url, headers=headers, timeout=30) as client:
        jsonl = await client.get("/audit/export", params={"since": "2000-01-01T00:00:00Z"})
        assert jsonl.status_code == 200
        records = [json.loads(line) for line in jsonl.text.splitlines()]
        assert [r["seq"] for r in records] == [1, 2, 3]
        assert {r["event"]["data"]["query"] for r in records} == {"q1", "q2", "q3"}
        assert all(len(r["hmac"]) == 64 for r in records)

        later = await client.get("/audit/export", params={"since": "2999-01-01T00:00:00Z"})
        assert later.text == ""

        as_csv = await client.get("/audit/export", params={"format": "csv"})
        rows = list(csv.DictReader(io.StringIO(as_csv.text)))
        assert [r["seq"] for r in rows] == ["1", "2", "3"]
        assert rows[0]["principal"] == "tester"

        bad = await client.get("/audit/export", params={"since": "yesterday"})
        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("application/problem+json")
        assert bad.json()["errors"][0]["field"] == "since"
        fmt = await client.get("/audit/export", params={"format": "xml"})
        assert fmt.status_code == 400
