"""Appending a batch to the chain, without a database: the records a batch adds continue the
chain exactly as one append after another would, a repeated event (in the log already, or
earlier in the same batch) appends nothing, and the audit subscription hands the service the
events of a batch whose other records do not decode."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from meshq_audit.chain import GENESIS_HASH, ChainRow, entry_hash, extend, verify_rows
from meshq_audit.handlers import register
from meshq_audit.repository import AppendResult, plan_batch
from network_discovery.contracts import topics
from network_discovery.contracts.events import AuditRequestData, AuditRequestEvent
from support.memory_bus import MemoryKafka

KEY = b"batch-test-key-" + b"k" * 16


def _body(i: int) -> str:
    return json.dumps({"n": i}, sort_keys=True, separators=(",", ":"))


def _batch(*ids: int) -> list[tuple[str, str | None]]:
    return [(f"e{i}", _body(i)) for i in ids]


def _known(rows: list[ChainRow]) -> dict[str, AppendResult]:
    return {r.event_id: AppendResult(r.seq, r.entry_hash, created=False, body=r.body) for r in rows}


async def _verify(rows: list[ChainRow]) -> bool:
    head = rows[-1]
    result = await verify_rows(
        rows,
        key=KEY,
        start_seq=1,
        start_prev=GENESIS_HASH,
        head_seq=head.seq,
        head_hash=head.entry_hash,
    )
    assert result.brk is None, result.brk
    return result.checked == len(rows)


async def test_batches_continue_the_chain_as_single_appends_would() -> None:
    first, results = plan_batch(KEY, 0, GENESIS_HASH, _batch(1, 2, 3), {})
    assert [r.seq for r in first] == [1, 2, 3] and all(r.created for r in results)
    assert first[0].prev_hash == GENESIS_HASH
    tail = first[-1]
    second, _ = plan_batch(KEY, tail.seq, tail.entry_hash, _batch(4, 5), _known(first))
    assert [r.seq for r in second] == [4, 5] and second[0].prev_hash == tail.entry_hash
    assert await _verify(first + second)
    # the same records, one append at a time
    one_by_one: list[ChainRow] = []
    for i in range(1, 6):
        last = one_by_one[-1] if one_by_one else None
        seq, prev = (last.seq, last.entry_hash) if last else (0, GENESIS_HASH)
        one_by_one += extend(KEY, seq, prev, [(f"e{i}", _body(i))])
    assert one_by_one == first + second
    assert second[-1].entry_hash == entry_hash(second[0].entry_hash, 5, _body(5))


async def test_a_repeat_inside_a_batch_appends_once_and_names_the_first() -> None:
    rows, results = plan_batch(KEY, 0, GENESIS_HASH, [*_batch(1, 2), ("e1", _body(1))], {})
    assert [r.event_id for r in rows] == ["e1", "e2"]
    assert [(r.seq, r.created) for r in results] == [(1, True), (2, True), (1, False)]
    repeat = results[2]
    assert repeat.entry_hash == rows[0].entry_hash and repeat.body == _body(1)
    assert await _verify(rows)


async def test_a_repeat_across_batches_appends_nothing() -> None:
    first, _ = plan_batch(KEY, 0, GENESIS_HASH, _batch(1, 2), {})
    tail = first[-1]
    # e2 again (its body unknown: only the log's record matters), then a new event
    second, results = plan_batch(
        KEY, tail.seq, tail.entry_hash, [("e2", None), *_batch(3)], _known(first)
    )
    assert [r.event_id for r in second] == ["e3"] and second[0].seq == 3
    assert results[0] == AppendResult(2, first[1].entry_hash, created=False, body=_body(2))
    assert results[1].created and results[1].seq == 3
    assert await _verify(first + second)
    # a batch of repeats only: nothing to append, the head stays
    none, again = plan_batch(KEY, 3, second[0].entry_hash, [("e1", None)], _known(first + second))
    assert none == [] and again[0].seq == 1 and not again[0].created


def test_a_new_event_needs_its_body() -> None:
    with pytest.raises(ValueError, match="no body"):
        plan_batch(KEY, 0, GENESIS_HASH, [("e1", None)], {})


def _event(path: str) -> AuditRequestEvent:
    data = AuditRequestData(
        principal="p", auth_method="api_key", method="GET", path=path, status=200, elapsed_ms=1
    )
    return AuditRequestEvent(source="test", data=data)


async def test_the_audit_subscription_records_what_decodes_and_parks_the_rest() -> None:
    kafka = MemoryKafka(service="audit", retry_delay=0.01)
    batches: list[list[AuditRequestEvent]] = []

    async def record_batch(events: list[AuditRequestEvent]) -> None:
        batches.append(events)

    register(kafka.consumer, SimpleNamespace(record_batch=record_batch))  # type: ignore[arg-type]
    first, second = _event("/a"), _event("/b")
    async with kafka.running():
        await kafka.broker.publish_batch(
            first.model_dump_json().encode(),
            b'{"type": "audit.request"}',
            second.model_dump_json().encode(),
            topic=kafka.settings.topic(topics.AUDIT_EVENTS.name),
        )
    assert batches == [[first, second]]
    (parked,) = kafka.parked
    assert parked.headers["x-meshq-error-kind"] == "invalid"
    assert kafka.commits == 1


def test_announcement_ids_are_the_uuid5_of_the_event_id() -> None:
    import uuid

    from meshq_audit.service import _RECORDED_NS, recorded_id

    ids = [str(uuid.UUID(int=i * 7919 + 1)) for i in range(200)] + ["e1", "é-ü", "x" * 64, ""]
    for event_id in ids:
        assert recorded_id(event_id) == str(uuid.uuid5(_RECORDED_NS, event_id))
