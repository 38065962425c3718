"""The audit consumer's failure policy: it waits for the store (never skips), says so to
``/ready``, and dead-letters only what can never be recorded."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import asyncpg
import pytest
from meshq_audit.handlers import register
from meshq_audit.service import unrecordable
from meshq_runtime.kafka import FailurePolicy
from network_discovery.contracts import topics
from network_discovery.contracts.events import AuditRequestData, AuditRequestEvent
from pydantic import BaseModel, ValidationError
from support.memory_bus import MemoryKafka


def _event() -> AuditRequestEvent:
    data = AuditRequestData(
        principal="p", auth_method="api_key", method="GET", path="/q", status=200, elapsed_ms=1
    )
    return AuditRequestEvent(source="test", data=data)


def _audit(record_batch: object) -> MemoryKafka:
    """The audit service's own subscription (its policy included), in memory."""
    kafka = MemoryKafka(service="audit", max_attempts=3, retry_delay=0.01)
    register(kafka.consumer, SimpleNamespace(record_batch=record_batch))  # type: ignore[arg-type]
    return kafka


async def test_waits_until_the_store_is_back_and_ready_says_why() -> None:
    calls = 0
    store_back = asyncio.Event()

    async def record(_: list[AuditRequestEvent]) -> None:
        nonlocal calls
        calls += 1
        if not store_back.is_set():
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")

    kafka = _audit(record)
    name, probe = kafka.consumer.probe()
    async with kafka.running():
        record_ = _event().model_dump_json().encode()
        task = asyncio.create_task(kafka.publish_raw(topics.AUDIT_EVENTS, record_, partition=1))
        while calls < 5:  # past MESHQ_KAFKA_MAX_ATTEMPTS: still waiting, nothing parked
            await asyncio.sleep(0.01)
        assert not task.done() and not kafka.parked and kafka.commits == 0
        with pytest.raises(ConnectionError, match=r"meshq.audit.events\[1\] waits at offset 0"):
            await probe()
        store_back.set()
        await asyncio.wait_for(task, 5)
    await probe()  # ready again
    assert name == "consumer" and kafka.consumer.waits_recovered == 1 and not kafka.consumer.waiting
    assert kafka.commits == 1 and not kafka.parked


async def test_what_can_never_be_recorded_is_dead_lettered_at_once() -> None:
    calls = 0

    async def record(_: list[AuditRequestEvent]) -> None:
        nonlocal calls
        calls += 1
        raise asyncpg.UntranslatableCharacterError("unsupported Unicode escape sequence")

    kafka = _audit(record)
    async with kafka.running():
        await kafka.bus.publish(_event())
    (parked,) = kafka.parked
    assert parked.headers["x-meshq-error-kind"] == "permanent" and calls == 1
    assert "UntranslatableCharacterError" in parked.headers["x-meshq-error"]
    assert kafka.commits == 1


async def test_the_default_policy_still_parks_after_the_attempts() -> None:
    kafka = MemoryKafka(service="audit", max_attempts=3, retry_delay=0.01)
    calls = 0

    async def handler(_: AuditRequestEvent) -> None:
        nonlocal calls
        calls += 1
        raise ConnectionRefusedError("down")

    kafka.consumer.subscribe(topics.AUDIT_EVENTS, handler, policy=FailurePolicy.dead_letter())
    async with kafka.running():
        await kafka.bus.publish(_event())
    (parked,) = kafka.parked
    assert parked.headers["x-meshq-error-kind"] == "failed" and calls == 3
    assert parked.headers["x-meshq-error"] == "ConnectionRefusedError: down"


class _Strict(BaseModel):
    n: int


def test_store_errors_wait_and_data_errors_do_not() -> None:
    try:
        _Strict.model_validate({"n": "x"})
    except ValidationError as exc:
        invalid = exc
    for waits in (
        ConnectionRefusedError(111, "refused"),
        OSError("network unreachable"),
        TimeoutError(),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.TooManyConnectionsError("too many clients"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.ConnectionDoesNotExistError("connection was closed"),
        asyncpg.InterfaceError("pool is closing"),
        asyncpg.UniqueViolationError("duplicate key"),  # two consumers raced: retry reads it
        asyncpg.DiskFullError("no space left"),
    ):
        assert not unrecordable(waits), waits
    for parks in (
        asyncpg.UntranslatableCharacterError("\\u0000 cannot be converted to text"),
        asyncpg.InvalidTextRepresentationError("invalid input syntax"),
        asyncpg.ProgramLimitExceededError("index row size exceeds maximum"),
        invalid,
    ):
        assert unrecordable(parks), parks
