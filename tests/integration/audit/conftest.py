"""An audit service on its own database, and events to feed it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from network_discovery.contracts import topics
from network_discovery.contracts.events import AuditRequestData, AuditRequestEvent

AUDIT_KEY = "audit-test-key-" + "k" * 24


@pytest.fixture
async def audit_db(stack) -> AsyncIterator[str]:
    """A database of its own, so that the chain holds only this test's records."""
    name = f"meshq_audit_{uuid.uuid4().hex[:10]}"
    server = await asyncpg.connect(stack.postgres_url)
    try:
        await server.execute(f'CREATE DATABASE "{name}"')
    finally:
        await server.close()
    parts = urlsplit(stack.postgres_url)
    yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))
    server = await asyncpg.connect(stack.postgres_url)
    try:
        await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await server.close()


@pytest.fixture
def audit_env(service_env: dict[str, str], audit_db: str) -> dict[str, str]:
    """The audit service's environment; demo mode opens the audit_logging gate (the plan gate
    itself is tested in test_audit_gate.py, with plans published on the license topic)."""
    return {
        **service_env,
        "MESHQ_POSTGRES_URL": audit_db,
        "MESHQ_AUDIT_HMAC_KEY": AUDIT_KEY,
        "MESHOPTIXIQ_DEMO_MODE": "true",
    }


def audit_event(i: int, **data: Any) -> AuditRequestEvent:
    fields: dict[str, Any] = {
        "principal": "tester",
        "auth_method": "api_key",
        "method": "POST",
        "path": f"/queries/q{i}/execute",
        "status": 200,
        "elapsed_ms": 1.5 + i,
        "query": f"q{i}",
        "row_count": i,
        **data,
    }
    return AuditRequestEvent(source="test", subject="tester", data=AuditRequestData(**fields))


@pytest.fixture
def feed(audit_env: dict[str, str]) -> Any:
    async def send(*events: AuditRequestEvent) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=audit_env["MESHQ_KAFKA_BOOTSTRAP"])
        await producer.start()
        try:
            topic = audit_env["MESHQ_KAFKA_TOPIC_PREFIX"] + topics.AUDIT_EVENTS.name
            for event in events:
                await producer.send_and_wait(topic, event.model_dump_json().encode(), key=b"t")
        finally:
            await producer.stop()

    return send


@pytest.fixture(name="audit_event")
def audit_event_fixture() -> Any:
    return audit_event
