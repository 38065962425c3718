"""PostgreSQL refusing connections for ~5 s while audit events keep coming: the audit service
(a real process) waits for it — ``/ready`` says why — and records every event once it is back;
nothing is dead-lettered, and the chain verifies."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from network_discovery.contracts import topics
from network_discovery.contracts.events import ADAPTERS
from support.kafka import collect
from support.procs import internal_headers
from support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration

N = 60  # events: a third before the outage, a third during it, a third after


def _through(url: str, proxy: TcpProxy) -> str:
    parts = urlsplit(url)
    netloc = f"{parts.username}@{proxy.address}" if parts.username else proxy.address
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


async def _ready(url: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    async with httpx.AsyncClient(timeout=5) as client:
        answer = await client.get(f"{url}/ready")
    return answer.status_code, answer.json()


async def test_a_database_outage_delays_the_chain_and_loses_nothing(
    audit_env, audit_db, spawn, feed, audit_event
) -> None:
    parts = urlsplit(audit_db)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5432)).start()
    env = {**audit_env, "MESHQ_POSTGRES_URL": _through(audit_db, proxy)}
    audit = spawn("meshq_audit", env).wait_healthy()
    events = [audit_event(i) for i in range(N)]
    third = N // 3
    conn = await asyncpg.connect(audit_db)  # straight to PostgreSQL, not through the proxy
    try:

        async def recorded() -> int:
            return int(await conn.fetchval("SELECT count(*) FROM audit_log"))

        await feed(*events[:third])
        deadline = time.monotonic() + 60
        while await recorded() < third and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert await recorded() == third, audit.tail()

        proxy.stop()  # PostgreSQL refuses connections from here on
        down_at = time.monotonic()
        await feed(*events[third : 2 * third])
        waited: dict = {}  # type: ignore[type-arg]
        while time.monotonic() - down_at < 5:
            status, body = await _ready(audit.url)
            if status == 503 and "audit-consumer" in body.get("unavailable", []):
                waited = body
            await asyncio.sleep(0.25)
        assert waited, f"/ready never reported the wait\n{audit.tail()}"
        assert "waits at offset" in waited["detail"] and waited["checks"]["postgres"] == "down"
        assert await recorded() == third  # nothing recorded, nothing skipped

        proxy.start()  # back, on the same port
        await feed(*events[2 * third :])
        deadline = time.monotonic() + 90
        while await recorded() < N and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert await recorded() == N, audit.tail()
        ids = {r["event_id"] for r in await conn.fetch("SELECT event_id FROM audit_log")}
        assert ids == {e.id for e in events}
    finally:
        await conn.close()
        proxy.stop()
        proxy.start()  # for the fixtures' own teardown through the service's stop

    status, _ = await _ready(audit.url)
    assert status == 200, audit.tail()
    async with httpx.AsyncClient(base_url=audit.url, headers=internal_headers(env)) as client:
        verify = (await client.get("/audit/verify", timeout=30)).json()
        metrics = (await client.get("/metrics")).text
    assert verify["ok"] and verify["checked"] == N
    assert "meshq_audit_dead_lettered_events_total 0" in metrics
    assert "meshq_audit_store_waiting 0" in metrics

    bootstrap, prefix = env["MESHQ_KAFKA_BOOTSTRAP"], env["MESHQ_KAFKA_TOPIC_PREFIX"]
    parked = await collect(bootstrap, prefix + topics.DEAD_LETTER.name, count=1, timeout=3)
    assert parked == []
    announced = await collect(bootstrap, prefix + topics.AUDIT_RECORDED.name, count=N)
    adapter = ADAPTERS[topics.AUDIT_RECORDED.name]
    assert {adapter.validate_json(r.value).data.audit_event_id for r in announced} == ids
    log = audit.logs()
    assert '"event.waiting_for_store"' in log and '"event.wait_over"' in log
    assert '"event.dead_lettered"' not in log
