"""Redelivery after a crash before commit, and dead-lettering of records that do not decode."""

from __future__ import annotations

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from network_discovery.contracts import topics
from network_discovery.contracts.events import ADAPTERS, AuditRequestData, AuditRequestEvent
from support.kafka import collect

pytestmark = pytest.mark.integration

#: The audit log is the audit_logging feature (Pro and up); demo mode opens it here.
RECORDING = {"MESHOPTIXIQ_DEMO_MODE": "true"}


def _event(path: str) -> AuditRequestEvent:
    return AuditRequestEvent(
        source="test",
        subject="tester",
        data=AuditRequestData(
            principal="tester",
            auth_method="api_key",
            method="GET",
            path=path,
            status=200,
            elapsed_ms=1.5,
        ),
    )


async def _produce(bootstrap: str, topic: str, *values: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value, key=b"tester")
    finally:
        await producer.stop()


async def test_crash_before_commit_redelivers_and_processes_once(service_env, spawn, stack):
    bootstrap = service_env["MESHQ_KAFKA_BOOTSTRAP"]
    prefix = service_env["MESHQ_KAFKA_TOPIC_PREFIX"]
    event = _event("/crash-test")

    crashing = spawn(
        "meshq_audit",
        {**service_env, **RECORDING, "MESHQ_FAILPOINTS": "consumer.before_commit"},
        name="a1",
    )
    crashing.wait_healthy()
    await _produce(bootstrap, prefix + topics.AUDIT_EVENTS.name, event.model_dump_json().encode())
    assert crashing.wait_exit(timeout=60) == 75, crashing.tail()

    conn = await asyncpg.connect(stack.postgres_url)
    try:
        # The side effect is durable although the offset was never committed.
        assert (
            await conn.fetchval("SELECT count(*) FROM audit_log WHERE event_id = $1", event.id) == 1
        )

        restarted = spawn("meshq_audit", {**service_env, **RECORDING}, name="a2")
        restarted.wait_healthy()
        records = await collect(
            bootstrap,
            prefix + topics.AUDIT_RECORDED.name,
            count=1,
            match=lambda r: event.id.encode() in r.value,
        )
        assert records, restarted.tail()
        # Redelivered, recognised, not appended twice.
        assert (
            await conn.fetchval("SELECT count(*) FROM audit_log WHERE event_id = $1", event.id) == 1
        )
    finally:
        await conn.close()
    log = restarted.logs()
    assert '"audit.already_recorded"' in log and event.id in log
    recorded_ids = {ADAPTERS[topics.AUDIT_RECORDED.name].validate_json(r.value).id for r in records}
    assert len(recorded_ids) == 1


async def test_malformed_record_is_dead_lettered_and_consumer_moves_on(service_env, spawn):
    bootstrap = service_env["MESHQ_KAFKA_BOOTSTRAP"]
    prefix = service_env["MESHQ_KAFKA_TOPIC_PREFIX"]
    audit = spawn("meshq_audit", {**service_env, **RECORDING})
    audit.wait_healthy()
    good = _event("/after-garbage")
    wrong_shape = b'{"type": "audit.request", "id": "x"}'
    await _produce(
        bootstrap,
        prefix + topics.AUDIT_EVENTS.name,
        b"\x00not json at all",
        wrong_shape,
        good.model_dump_json().encode(),
    )

    parked = await collect(bootstrap, prefix + topics.DEAD_LETTER.name, count=2)
    assert [r.value for r in parked] == [b"\x00not json at all", wrong_shape]
    for record in parked:
        headers = {k: v.decode() for k, v in record.headers}
        assert headers["x-meshq-original-topic"] == topics.AUDIT_EVENTS.name
        assert headers["x-meshq-error-kind"] == "invalid"
        assert headers["x-meshq-consumer-group"].endswith(".audit")
        assert "ValidationError" in headers["x-meshq-error"]

    recorded = await collect(
        bootstrap,
        prefix + topics.AUDIT_RECORDED.name,
        count=1,
        match=lambda r: good.id.encode() in r.value,
    )
    assert recorded, audit.tail()
    assert '"event.invalid"' in audit.logs()
