"""The audit consumer's failure policy: it waits for the store (never skips), says so to
``/ready``, and dead-letters only what can never be recorded."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from meshq_audit.handlers import POLICY
from meshq_audit.service import unrecordable
from meshq_runtime.kafka import EventBus, EventConsumer, FailurePolicy
from meshq_runtime.settings import KafkaSettings
from network_discovery.contracts.events import AuditRequestData, AuditRequestEvent
from pydantic import BaseModel, ValidationError


def _event() -> AuditRequestEvent:
    data = AuditRequestData(
        principal="p", auth_method="api_key", method="GET", path="/q", status=200, elapsed_ms=1
    )
    return AuditRequestEvent(source="test", data=data)


def _consumer(**settings: Any) -> EventConsumer:
    kafka = KafkaSettings(MESHQ_KAFKA_MAX_ATTEMPTS=3, **settings)
    bus = EventBus(broker=None, settings=kafka)  # type: ignore[arg-type]  # never publishes here
    return EventConsumer(None, bus, kafka, service="audit", retry_delay=0.01)  # type: ignore[arg-type]


WHERE = {"topic": "meshq.audit.events", "partition": 0, "offset": 7}


async def test_waits_until_the_store_is_back_and_ready_says_why() -> None:
    consumer = _consumer()
    name, probe = consumer.probe()
    calls = 0
    store_back = asyncio.Event()

    async def handler(_: Any) -> None:
        nonlocal calls
        calls += 1
        if not store_back.is_set():
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")

    policy = FailurePolicy.until_stored(permanent=unrecordable, max_delay_s=0.02)
    task = asyncio.create_task(consumer._run(handler, _event(), WHERE, policy))
    while calls < 10:  # far past MESHQ_KAFKA_MAX_ATTEMPTS: still waiting, nothing parked
        await asyncio.sleep(0.01)
    assert not task.done()
    with pytest.raises(ConnectionError, match=r"meshq.audit.events\[0\] waits at offset 7"):
        await probe()
    store_back.set()
    assert await asyncio.wait_for(task, 5) is None
    await probe()  # ready again
    assert name == "consumer" and consumer.waits_recovered == 1 and not consumer.waiting


async def test_what_can_never_be_recorded_is_dead_lettered_at_once() -> None:
    consumer = _consumer()
    calls = 0

    async def handler(_: Any) -> None:
        nonlocal calls
        calls += 1
        raise asyncpg.UntranslatableCharacterError("unsupported Unicode escape sequence")

    failed = await consumer._run(handler, _event(), WHERE, POLICY)
    assert failed is not None and failed[0] == "permanent" and calls == 1
    assert "UntranslatableCharacterError" in failed[1]


async def test_the_default_policy_still_parks_after_the_attempts() -> None:
    consumer = _consumer()
    calls = 0

    async def handler(_: Any) -> None:
        nonlocal calls
        calls += 1
        raise ConnectionRefusedError("down")

    failed = await consumer._run(handler, _event(), WHERE, FailurePolicy.dead_letter())
    assert failed == ("failed", "ConnectionRefusedError: down") and calls == 3


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
