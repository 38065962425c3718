"""The audit buffer keeps each event until the audit log's receipt (``meshq.audit.recorded``),
not only until the broker's acknowledgement: re-sent when the receipt is late or the broker lost
its log, kept in the journal across a restart, let go at once when the plan records nothing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from meshq_runtime.audit_buffer import AuditBuffer
from meshq_runtime.audit_spool import COMPACT_AFTER, Spool
from meshq_runtime.kafka.resets import LogResets
from network_discovery.contracts.events import AuditRequestData, AuditRequestEvent


def _event(n: int) -> AuditRequestEvent:
    data = AuditRequestData(
        principal="p", auth_method="api_key", method="GET", path=f"/q/{n}", status=200, elapsed_ms=1
    )
    return AuditRequestEvent(source="query-gateway", data=data)


class Broker:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def publish(self, event: AuditRequestEvent) -> None:
        self.sent.append(event.id)


def _journal(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def test_an_acknowledged_event_is_kept_until_its_receipt(tmp_path: Path) -> None:
    broker, spool = Broker(), tmp_path / "spool.jsonl"
    buffer = AuditBuffer(broker.publish, spool=spool, confirm_timeout=30, fsync=False)
    await buffer.start()
    first, second = _event(1), _event(2)
    buffer.submit(first)
    buffer.submit(second)
    assert await buffer.drained(5)
    assert broker.sent == [first.id, second.id]
    assert len(buffer) == 0 and buffer.unconfirmed == 2  # acknowledged, still owed
    assert [r["id"] for r in _journal(spool)] == [first.id, second.id]

    assert buffer.confirm(first.id) and not buffer.confirm(first.id)
    assert not buffer.confirm("an event of another gateway")
    assert [e.id for e in buffer.pending()] == [second.id]
    assert {"done": first.id} in _journal(spool)
    assert buffer.confirm(second.id)
    assert await buffer.settled(1)
    assert spool.stat().st_size == 0  # nothing owed: the journal is cut
    await buffer.stop()


async def test_an_event_without_receipt_is_sent_again_until_confirmed() -> None:
    broker = Broker()
    buffer = AuditBuffer(broker.publish, confirm_timeout=0.2, fsync=False)
    await buffer.start()
    event = _event(1)
    buffer.submit(event)
    for _ in range(100):  # re-sent after 0.2 s, then after 0.4 s more
        if len(broker.sent) >= 3:
            break
        await asyncio.sleep(0.05)
    assert broker.sent == [event.id] * 3 and buffer.republished == 2
    buffer.confirm(event.id)
    await asyncio.sleep(0.5)
    assert len(broker.sent) == 3  # confirmed: never again
    await buffer.stop()


async def test_a_broker_that_lost_its_log_gets_every_unconfirmed_event_again() -> None:
    broker, resets = Broker(), LogResets()
    buffer = AuditBuffer(broker.publish, confirm_timeout=60, fsync=False)
    resets.listen(buffer.republish)
    await buffer.start()
    events = [_event(n) for n in range(3)]
    for event in events:
        buffer.submit(event)
    assert await buffer.drained(5)
    buffer.confirm(events[0].id)

    assert not resets.observe("produced", "t.meshq.audit.events", 0, 41)
    assert not resets.observe("produced", "t.meshq.audit.events", 0, 42)
    assert resets.observe("produced", "t.meshq.audit.events", 0, 0)  # the log started over
    assert await buffer.drained(5)
    assert broker.sent == [e.id for e in events] + [events[1].id, events[2].id]
    # the same restart seen again a moment later (by a consumer) is not a second reset
    assert resets.observe("consumed:g", "t.meshq.audit.recorded", 1, 7) is False
    resets.observe("consumed:g", "t.meshq.audit.recorded", 1, 3)
    assert resets.count == 1 and buffer.republished == 2
    await buffer.stop()


async def test_what_is_owed_survives_a_restart_and_goes_out_again(tmp_path: Path) -> None:
    broker, spool = Broker(), tmp_path / "spool.jsonl"
    first = AuditBuffer(broker.publish, spool=spool, confirm_timeout=30, fsync=False)
    await first.start()
    events = [_event(n) for n in range(3)]
    for event in events:
        first.submit(event)
    assert await first.drained(5)
    first.confirm(events[1].id)
    await first.stop(flush_timeout=0.1)  # two acknowledged, never confirmed

    second = AuditBuffer(broker.publish, spool=spool, confirm_timeout=30, fsync=False)
    await second.start()
    assert await second.drained(5)
    assert broker.sent[3:] == [events[0].id, events[2].id]
    assert [r["id"] for r in _journal(spool)] == [events[0].id, events[2].id]  # compacted
    await second.stop(flush_timeout=0)


async def test_without_the_audit_log_an_event_is_let_go_once_acknowledged() -> None:
    broker, recording = Broker(), {"on": False}
    buffer = AuditBuffer(
        broker.publish, confirm_timeout=0.2, confirming=lambda: recording["on"], fsync=False
    )
    await buffer.start()
    buffer.submit(_event(1))
    assert await buffer.drained(5) and await buffer.settled(1)
    recording["on"] = True
    buffer.submit(_event(2))
    assert await buffer.drained(5)
    assert buffer.unconfirmed == 1
    recording["on"] = False  # the plan lost audit_logging: no receipt will ever come
    assert await buffer.settled(2)
    await buffer.stop()


async def test_owed_events_count_towards_full() -> None:
    buffer = AuditBuffer(Broker().publish, confirm_timeout=60, max_unconfirmed=2, fsync=False)
    await buffer.start()
    buffer.submit(_event(1))
    buffer.submit(_event(2))
    assert await buffer.drained(5)
    assert len(buffer) == 0 and buffer.full()
    buffer.confirm(buffer.pending()[0].id)
    assert not buffer.full()
    await buffer.stop(flush_timeout=0)


def test_the_journal_is_compacted_and_shared_journals_never_mix(tmp_path: Path) -> None:
    path = tmp_path / "audit-spool.jsonl"
    old_format = _event(0)  # a spool from before receipts: one event per line
    path.write_text(old_format.model_dump_json() + "\n" + "{cut by a cra")
    spool = Spool(path, fsync=False)
    assert [e.id for e in spool.open()] == [old_format.id]

    other = Spool(path, fsync=False)  # a second process on the same data directory
    assert other.open() == [] and other.path.name == "audit-spool-1.jsonl"
    other.close()

    keep = _event(1)
    spool.append(keep.model_dump_json().encode())
    lines = {}
    for n in range(2, COMPACT_AFTER + 3):
        event = _event(n)
        lines[event.id] = event.model_dump_json().encode()
        spool.append(lines[event.id])
    spool.done(old_format.id, [keep.model_dump_json().encode(), *lines.values()])
    for event_id in list(lines):
        del lines[event_id]
        spool.done(event_id, [keep.model_dump_json().encode(), *lines.values()])
    assert len(path.read_text().splitlines()) < 10  # rewritten, not grown
    spool.close()
    reopened = Spool(path, fsync=False)
    assert [e.id for e in reopened.open()] == [keep.id]
    reopened.close()


def test_publishes_in_flight_together_may_come_back_out_of_order() -> None:
    clock = {"t": 0.0}
    resets = LogResets(clock=lambda: clock["t"])
    told: list[str] = []
    resets.listen(told.append)
    began = resets.now()  # two publishes sent together ...
    clock["t"] = 1.0
    assert not resets.observe("produced", "t.x", 0, 11, since=began)  # ... answered 11, then 10
    assert not resets.observe("produced", "t.x", 0, 10, since=began)
    clock["t"] = 2.0
    assert resets.observe("produced", "t.x", 0, 0, since=1.5)  # sent after 11 came back
    assert len(told) == 1 and "after 11" in told[0]


def test_a_journal_left_by_a_dead_process_is_adopted(tmp_path: Path) -> None:
    path = tmp_path / "audit-spool.jsonl"
    first, second = Spool(path, fsync=False), Spool(path, fsync=False)
    first.open()
    second.open()
    assert second.path.name == "audit-spool-1.jsonl"
    left = _event(7)
    second.append(left.model_dump_json().encode())
    second.close()  # its process died with the event owed
    first.close()
    third = Spool(path, fsync=False)
    assert [e.id for e in third.open()] == [left.id] and third.path == path
    assert not second.path.exists()
    third.close()
