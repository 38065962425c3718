"""Batches on PostgreSQL, in process: each batch is appended in one transaction and continues
the chain, repeats (in the log already, or twice in one batch) are announced again and not
appended, a batch PostgreSQL refuses leaves nothing behind, and the outbox relay publishes a
page at a time, marking only what the broker acknowledged."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest
from meshq_audit.app import SCHEMA
from meshq_audit.checkpoints import CheckpointLog
from meshq_audit.repository import AuditRepository, _canonical, _canonical_bodies
from meshq_audit.service import AuditService, recorded_id, unrecordable
from meshq_runtime.kafka import EventBus
from meshq_runtime.outbox import OutboxRelay
from meshq_runtime.postgres import apply_schema
from meshq_runtime.settings import KafkaSettings
from network_discovery.contracts.events import AuditRecorded

pytestmark = pytest.mark.integration

KEY = b"audit-batch-key-" + b"k" * 16


class _Relay:
    """The relay as the service sees it: woken after each batch."""

    def __init__(self) -> None:
        self.wakes = 0

    def notify(self) -> None:
        self.wakes += 1


@pytest.fixture
async def pool(audit_db: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(audit_db, min_size=0, max_size=3)
    await apply_schema(pool, SCHEMA)
    yield pool
    await pool.close()


def _service(pool: asyncpg.Pool, tmp_path: Path, relay: Any = None) -> AuditService:
    gate = SimpleNamespace(plan="enterprise", allows=lambda _: True)
    return AuditService(
        pool,
        AuditRepository(pool, KEY),
        relay or _Relay(),
        gate,
        checkpoints=CheckpointLog(tmp_path / "checkpoints.jsonl", KEY),
    )


async def _announced(pool: asyncpg.Pool) -> list[AuditRecorded]:
    rows = await pool.fetch("SELECT payload FROM meshq_outbox ORDER BY id")
    return [AuditRecorded.model_validate_json(r["payload"]) for r in rows]


async def test_batches_continue_the_chain_and_repeats_are_announced_again(
    pool, tmp_path, audit_event
) -> None:
    relay = _Relay()
    service = _service(pool, tmp_path, relay)
    events = [audit_event(i) for i in range(1, 8)]
    await service.record_batch(events[:3])
    # a repeat of an earlier batch's event, and one repeated inside the batch
    await service.record_batch([events[3], events[1], events[4], events[3]])
    await service.record_batch(events[5:])

    log = await pool.fetch(
        "SELECT seq, event_id, prev_hash, entry_hash FROM audit_log ORDER BY seq"
    )
    assert [r["seq"] for r in log] == list(range(1, 8))
    assert [r["event_id"] for r in log] == [e.id for e in events]
    assert all(b["prev_hash"] == a["entry_hash"] for a, b in pairwise(log))
    assert await pool.fetchval("SELECT seq FROM audit_chain_head") == 7
    assert service.reannounced == 2 and relay.wakes == 3

    announced = await _announced(pool)
    assert [a.data.audit_event_id for a in announced] == [
        *(e.id for e in events[:3]),
        events[3].id,
        events[1].id,
        events[4].id,
        events[3].id,
        *(e.id for e in events[5:]),
    ]
    seq_of = {r["event_id"]: r["seq"] for r in log}
    for a in announced:  # a repeat announces the record it already has, under the same id
        assert a.data.seq == seq_of[a.data.audit_event_id]
        assert a.id == recorded_id(a.data.audit_event_id)
    assert announced[4].data.request == events[1].data

    assert await service.checkpoint() is not None
    result = await service.verify()
    assert result.ok and result.checked == 7 and result.checkpoints == 1, result
    assert (await service.verify(start=5)).checked == 3


async def test_a_batch_postgres_refuses_leaves_nothing_behind(pool, tmp_path, audit_event) -> None:
    service = _service(pool, tmp_path)
    await service.record_batch([audit_event(1)])
    refused = audit_event(3, params={"text": "nul \u0000 inside"})
    with pytest.raises(asyncpg.PostgresError) as caught:
        await service.record_batch([audit_event(2), refused, audit_event(4)])
    assert unrecordable(caught.value)  # the consumer then records the batch event by event
    assert await pool.fetchval("SELECT count(*) FROM audit_log") == 1
    assert await pool.fetchval("SELECT seq FROM audit_chain_head") == 1
    assert await pool.fetchval("SELECT count(*) FROM meshq_outbox") == 1
    assert (await service.verify()).ok


#: Parameters whose numbers jsonb rewrites (exponents, the sign of zero) or keeps (plain
#: decimals, integers), strings it must give back as they were, keys in no order.
AWKWARD = [
    {"big": 1e16, "bigger": 1.5e300, "neg": -1e22, "tiny": 1e-7, "tinier": -2.5e-300},
    {"zero": -0.0, "third": 1 / 3, "huge": 2**70, "neg_int": -5, "float_int": 3.0},
    {"text": 'é\u0001\u001f"\\/ \u2028 \U0001f600', "nested": {"a": [1, 2.5, {"b": None}]}},
    {"plain": 0.1, "sum": 0.1 + 0.2, "denormal": 5e-324, "max": 1.7976931348623157e308},
    {"z": 1, "a": 2, "aa": 3, "B": 4, "": 5},
]


async def test_bodies_are_hashed_as_jsonb_gives_them_back(pool, audit_event) -> None:
    """A body is canonicalised without PostgreSQL unless it holds a number jsonb rewrites;
    either way it is what the round trip through jsonb gives, and what verify reads back."""
    events = [audit_event(i, params=p, sample_rows=[p]) for i, p in enumerate(AWKWARD, 1)]
    events.append(audit_event(len(AWKWARD) + 1))  # nothing awkward
    async with pool.acquire() as conn:
        bodies = await _canonical_bodies(conn, events)
        for event in events:
            via_jsonb = await conn.fetchval("SELECT $1::jsonb::text", event.model_dump_json())
            assert bodies[event.id] == _canonical(via_jsonb), event.data.params
            stored = await conn.fetchval("SELECT $1::jsonb::text", bodies[event.id])
            assert _canonical(stored) == bodies[event.id]


class _Broker:
    """A producer that hands back a future per record and fails the ones it is told to."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.fail: set[bytes] = set()

    async def publish(self, value: bytes, *, no_confirm: bool, **_: Any) -> asyncio.Future[Any]:
        assert no_confirm  # a page is sent before any acknowledgement is awaited
        self.sent.append(value)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if value in self.fail:
            future.set_exception(ConnectionError("the broker went away"))
        else:
            future.set_result(SimpleNamespace(partition=0, offset=len(self.sent) - 1))
        return future


async def test_the_relay_sends_a_page_and_marks_what_was_acknowledged(
    pool, tmp_path, audit_event
) -> None:
    broker = _Broker()
    bus = EventBus(broker, KafkaSettings(MESHQ_KAFKA_TOPIC_PREFIX="t."))  # type: ignore[arg-type]
    relay = OutboxRelay(pool, bus, "audit", page=4)
    service = _service(pool, tmp_path)
    events = [audit_event(i) for i in range(1, 7)]
    await service.record_batch(events)
    payloads = [
        r["payload"].encode()
        for r in await pool.fetch("SELECT payload FROM meshq_outbox ORDER BY id")
    ]

    broker.fail = {payloads[2]}
    with pytest.raises(ConnectionError):
        await relay.flush()
    assert broker.sent == payloads[:4]  # one page, sent in order
    pending = "SELECT count(*) FROM meshq_outbox WHERE published_at IS NULL"
    assert await pool.fetchval(pending) == 4  # the rows from the failed one on stay pending

    broker.fail = set()
    assert await relay.flush() == 4 and await relay.flush() == 0
    assert broker.sent[4:] == payloads[2:]  # what was left, in order
    assert await pool.fetchval(pending) == 0 and relay.published == 6
