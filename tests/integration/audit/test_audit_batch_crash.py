"""The audit process (a real one) dies in the middle of a batch, and the chain neither loses nor
repeats an event:

- killed (SIGKILL) while a batch is inside its transaction, records written but not committed
  (the ``audit.hold_batch`` failpoint holds it there): none of the batch is in the log, the
  batch comes again after the restart and is appended once;
- ended after a batch was committed in PostgreSQL but before its offsets were committed to
  the broker (``consumer.before_commit``): the whole batch comes again, every event of it is
  recognised and announced again, none appended twice.

Either way the chain is numbered without a gap, holds each event once, verifies (signed
checkpoint included), and every event is announced on ``meshq.audit.recorded``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from typing import Any

import asyncpg
import httpx
import pytest
from meshq_audit.service import FAILPOINT_HOLD_BATCH
from meshq_runtime.kafka.consumer import FAILPOINT_EXIT
from network_discovery.contracts import topics
from network_discovery.contracts.events import ADAPTERS
from support.kafka import collect
from support.procs import internal_headers

pytestmark = pytest.mark.integration

#: small batches: the restarted process appends several, each continuing the chain
BATCH = "64"


@pytest.fixture
def env(audit_env: dict[str, str]) -> dict[str, str]:
    return {**audit_env, "MESHQ_AUDIT_BATCH_MAX_RECORDS": BATCH}


async def _count(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM audit_log"))


async def _until_count(conn: asyncpg.Connection, n: int, audit: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while await _count(conn) < n:
        assert time.monotonic() < deadline, f"{await _count(conn)} of {n}\n{audit.tail()}"
        await asyncio.sleep(0.1)


async def _until_logged(audit: Any, text: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while True:
        for line in audit.logs().splitlines():
            if text in line:
                return line
        assert audit.proc.poll() is None, audit.tail()
        assert time.monotonic() < deadline, f"never logged {text}\n{audit.tail()}"
        await asyncio.sleep(0.05)


async def _chain_holds_each_once(conn: asyncpg.Connection, audit: Any, ids: set[str]) -> None:
    """Numbered 1..n without a gap, each event once, verified by the service, announced."""
    rows = await conn.fetch("SELECT seq, event_id FROM audit_log ORDER BY seq")
    assert [r["seq"] for r in rows] == list(range(1, len(ids) + 1))
    assert sorted(r["event_id"] for r in rows) == sorted(ids)
    async with httpx.AsyncClient(
        base_url=audit.url, headers=internal_headers(audit.env, "cli"), timeout=60
    ) as client:
        verify = (await client.get("/audit/verify")).json()
    assert verify["ok"] and verify["checked"] == len(ids), verify
    bootstrap, prefix = audit.env["MESHQ_KAFKA_BOOTSTRAP"], audit.env["MESHQ_KAFKA_TOPIC_PREFIX"]
    announced = await collect(
        bootstrap, prefix + topics.AUDIT_RECORDED.name, count=len(ids) + 10_000, timeout=5
    )
    adapter = ADAPTERS[topics.AUDIT_RECORDED.name]
    assert {adapter.validate_json(r.value).data.audit_event_id for r in announced} == ids


async def test_killed_inside_a_batch_the_batch_comes_again_and_goes_in_once(
    env, spawn, feed, audit_event
) -> None:
    early = [audit_event(i) for i in range(30)]
    late = [audit_event(i) for i in range(30, 330)]
    conn = await asyncpg.connect(env["MESHQ_POSTGRES_URL"])
    try:
        first = spawn("meshq_audit", env, name="a1").wait_healthy()
        await feed(*early)
        await _until_count(conn, len(early), first)
        first.stop()  # a clean stop signs a checkpoint of the head

        await feed(*late, *early[:5])  # waiting on the broker, with repeats of recorded ones
        held = spawn("meshq_audit", {**env, "MESHQ_FAILPOINTS": FAILPOINT_HOLD_BATCH}, name="a2")
        hit = json.loads(await _until_logged(held, '"failpoint.hit"'))
        assert hit["failpoint"] == FAILPOINT_HOLD_BATCH and hit["events"] > 1
        os.kill(held.proc.pid, signal.SIGKILL)  # with the batch's transaction open
        assert held.wait_exit(timeout=30) == -signal.SIGKILL
        assert await _count(conn) == len(early)  # nothing of that batch is in the log

        restarted = spawn("meshq_audit", env, name="a3").wait_healthy()
        ids = {e.id for e in early + late}
        await _until_count(conn, len(ids), restarted)
        await _chain_holds_each_once(conn, restarted, ids)
    finally:
        await conn.close()
    log = restarted.logs()
    assert log.count('"event.batch_consumed"') > 1  # several batches after the restart
    assert '"event.dead_lettered"' not in log


async def test_ended_before_the_offsets_were_committed_the_batch_is_recognised(
    env, spawn, feed, audit_event
) -> None:
    events = [audit_event(i) for i in range(150)]
    await feed(*events)  # on the broker before the service starts: the first fetch is a batch
    conn = await asyncpg.connect(env["MESHQ_POSTGRES_URL"])
    try:
        crashing = spawn(
            "meshq_audit", {**env, "MESHQ_FAILPOINTS": "consumer.before_commit"}, name="b1"
        )
        assert crashing.wait_exit(timeout=90) == FAILPOINT_EXIT, crashing.tail()
        written = await _count(conn)  # the first batch, committed in PostgreSQL
        assert 1 < written <= int(BATCH)

        restarted = spawn("meshq_audit", env, name="b2").wait_healthy()
        await _until_count(conn, len(events), restarted)
        await _chain_holds_each_once(conn, restarted, {e.id for e in events})
    finally:
        await conn.close()
    log = restarted.logs()
    assert log.count('"audit.already_recorded"') == written  # the batch came again, whole
    assert log.count('"audit.recorded"') == len(events) - written
