"""Audit events through the real broker: one per call that reaches a query, with the right
fields; and with the gateway's broker stopped, calls keep their events (503 once the buffer is
full) and deliver them when it is back."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import httpx
import pytest
from gateway_support import ADMIN_KEY
from meshq_runtime.embedded import Tansu
from meshq_runtime.kafka import ensure_topics
from meshq_runtime.settings import KafkaSettings
from network_discovery.contracts import topics
from network_discovery.contracts.events import ADAPTERS, AuditRequestEvent
from support.kafka import collect
from support.procs import free_port

pytestmark = pytest.mark.integration


def _events(records) -> dict[str, AuditRequestEvent]:  # type: ignore[no-untyped-def]
    adapter = ADAPTERS[topics.AUDIT_EVENTS.name]
    out: dict[str, AuditRequestEvent] = {}
    for record in records:
        event = adapter.validate_json(record.value)
        earlier = out.get(event.correlation_id)
        # one event per call; a retried publish may repeat it with the same id (at least once)
        assert earlier is None or earlier.id == event.id, "one event per call"
        out[event.correlation_id] = event
    return out


async def test_one_event_per_call_with_its_fields(gateway_env, spawn) -> None:
    gw = spawn("meshq_query_gateway", gateway_env).wait_healthy()
    admin = {"X-API-Key": ADMIN_KEY}
    async with httpx.AsyncClient(base_url=gw.url, timeout=10) as client:

        async def call(cid: str, path: str, headers: dict[str, str], body=None) -> int:  # type: ignore[no-untyped-def]
            headers = {**headers, "X-Correlation-ID": cid}
            return (await client.post(path, headers=headers, json=body)).status_code

        assert await call("a-ok", "/queries/all_devices", admin, {"role": "core"}) == 200
        assert await call("a-403", "/queries/orphaned_ips", admin, {"token": "s3cret"}) == 403
        assert await call("a-401", "/queries/all_devices", {"X-API-Key": "wrong"}) == 401
        listing = await client.get("/queries", headers={"X-Correlation-ID": "a-list-401"})
        assert listing.status_code == 401

    prefix = gateway_env["MESHQ_KAFKA_TOPIC_PREFIX"]
    records = await collect(
        gateway_env["MESHQ_KAFKA_BOOTSTRAP"], prefix + topics.AUDIT_EVENTS.name, count=3
    )
    events = _events(records)
    assert set(events) == {"a-ok", "a-403", "a-401"}
    ok = events["a-ok"].data
    assert (ok.principal, ok.auth_method, ok.status, ok.query) == (
        "admin",
        "api_key",
        200,
        "all_devices",
    )
    assert ok.params == {"role": "core"} and ok.row_count == 0 and ok.sample_rows == []
    assert ok.key_id == "admin"
    assert ok.client == "127.0.0.1" and ok.elapsed_ms > 0 and ok.method == "POST"
    denied = events["a-403"].data
    assert (denied.status, denied.query, denied.params) == (
        403,
        "orphaned_ips",
        {"token": "[redacted]"},
    )
    anon = events["a-401"].data
    assert (anon.principal, anon.auth_method, anon.status) == ("anonymous", "anonymous", 401)
    # nothing more arrives (the listing refused before any query ran)
    extra = await collect(
        gateway_env["MESHQ_KAFKA_BOOTSTRAP"],
        prefix + topics.AUDIT_EVENTS.name,
        count=4,
        timeout=2.0,
    )
    assert len(extra) == 3


async def test_broker_outage_keeps_events_and_full_buffer_refuses(
    gateway_env, spawn, tmp_path: Path
) -> None:
    broker = Tansu(log_dir=tmp_path / "own-broker", port=free_port())
    broker.start()
    try:
        env = {
            **gateway_env,
            "MESHQ_KAFKA_BOOTSTRAP": broker.bootstrap,
            "MESHQ_AUDIT_BUFFER": "3",
            "MESHQ_LOG_LEVEL": "warning",
        }
        kafka = KafkaSettings(**{k: v for k, v in env.items() if k.startswith("MESHQ_KAFKA_")})
        await ensure_topics(kafka)
        gw = spawn("meshq_query_gateway", env).wait_healthy()
        topic = env["MESHQ_KAFKA_TOPIC_PREFIX"] + topics.AUDIT_EVENTS.name
        async with httpx.AsyncClient(base_url=gw.url, timeout=30) as client:

            async def run(cid: str) -> httpx.Response:
                headers = {"X-API-Key": ADMIN_KEY, "X-Correlation-ID": cid}
                return await client.post("/queries/all_devices", headers=headers)

            assert (await run("before")).status_code == 200
            assert len(await collect(broker.bootstrap, topic, count=1)) == 1

            assert broker.pid is not None
            os.kill(broker.pid, signal.SIGSTOP)  # the broker stops answering, topics intact
            for cid in ("down-1", "down-2", "down-3"):
                assert (await run(cid)).status_code == 200
            refused = await run("down-4")
            assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
            assert "audit" in json.loads(refused.text)["title"].lower()

            os.kill(broker.pid, signal.SIGCONT)
            wanted = {"before", "down-1", "down-2", "down-3"}

            def ours(record) -> bool:  # type: ignore[no-untyped-def]
                return any(cid.encode() in record.value for cid in wanted)

            records = await collect(broker.bootstrap, topic, count=4, timeout=90, match=ours)
            assert set(_events(records)) == wanted

            async def accepted() -> bool:
                return (await run("after")).status_code == 200

            for _ in range(100):
                if await accepted():
                    break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError("the gateway did not take calls again")
    finally:
        if broker.pid is not None:
            os.kill(broker.pid, signal.SIGCONT)
        broker.stop()
