"""An audit event the broker can never take does not block the ones behind it: it is sent
without its parameters, else kept in the undeliverable file with an error logged; the broker
being away still holds everything (fail closed)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError
from meshq_query_gateway.audit import MAX_PART_BYTES, bounded_part
from meshq_query_gateway.audit_buffer import AuditBuffer
from network_discovery.contracts.events import AuditRequestData, AuditRequestEvent


def _event(n: int, params: dict | None = None) -> AuditRequestEvent:
    return AuditRequestEvent(
        source="query-gateway",
        subject="admin",
        correlation_id=f"c{n}",
        data=AuditRequestData(
            principal="admin",
            auth_method="api_key",
            method="POST",
            path=f"/queries/q{n}",
            status=200,
            elapsed_ms=1,
            params=params or {},
        ),
    )


def test_a_huge_parameter_becomes_its_size_and_hash() -> None:
    cut = bounded_part({"site": "a" * 1_200_000, "role": "core"})
    assert cut["role"] == "core"
    assert cut["site"].startswith("a" * 64) and "[1200000 chars, sha256 " in cut["site"]
    many = bounded_part({f"k{i}": "x" * 200 for i in range(1000)})
    assert len(json.dumps(many)) <= MAX_PART_BYTES


async def test_what_can_never_be_delivered_is_set_aside(tmp_path: Path) -> None:
    sent: list[str] = []

    async def publish(event: AuditRequestEvent) -> None:
        if event.data.params.get("size") == "huge":
            raise MessageSizeTooLargeError()
        if event.data.path == "/queries/q2" and "_omitted" in event.data.params:
            raise MessageSizeTooLargeError()  # even slimmed: kept in the file
        sent.append(event.data.path)

    kept = tmp_path / "undeliverable.jsonl"
    buffer = AuditBuffer(publish, capacity=10, dead_letter=kept, max_backoff=0.01)
    await buffer.start()
    buffer.submit(_event(1, {"size": "huge"}))
    buffer.submit(_event(2, {"size": "huge"}))
    buffer.submit(_event(3))
    assert await buffer.drained(5)
    await buffer.stop()
    assert sent == ["/queries/q1", "/queries/q3"]  # q1 slimmed, q3 behind them delivered
    assert buffer.undeliverable == 1
    [line] = kept.read_text().splitlines()
    record = json.loads(line)
    assert record["reason"].startswith("MessageSizeTooLargeError")
    assert record["event"]["data"]["path"] == "/queries/q2"
    assert oct(kept.stat().st_mode & 0o777) == "0o600"


async def test_a_broker_that_is_away_still_holds_everything() -> None:
    down = True
    sent: list[str] = []

    async def publish(event: AuditRequestEvent) -> None:
        if down:
            raise KafkaConnectionError()
        sent.append(event.data.path)

    buffer = AuditBuffer(publish, capacity=2, max_backoff=0.01)
    await buffer.start()
    buffer.submit(_event(1))
    buffer.submit(_event(2))
    await asyncio.sleep(0.1)
    assert buffer.full() and buffer.undeliverable == 0  # refused, never set aside
    down = False
    assert await buffer.drained(5)
    await buffer.stop()
    assert sent == ["/queries/q1", "/queries/q2"]
