"""The writer's snapshot intake on its own: what it stores, what it refuses, how status records
move, and how the sweep queues again what the broker never got."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from meshq_graph_engine.intake import IntakeError, SnapshotIntake, public_status
from network_discovery.demo import load_snapshot


def _body(*pieces: bytes) -> AsyncIterator[bytes]:
    async def gen() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    return gen()


def _pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.fixture
def raw() -> bytes:
    return load_snapshot().model_dump_json().encode()


async def test_a_gzip_body_in_odd_pieces_is_stored_hashed_and_kept_parsed(
    tmp_path: Path, raw: bytes
) -> None:
    intake = SnapshotIntake(tmp_path)
    packed = gzip.compress(raw)
    accepted = await intake.receive(
        _body(*_pieces(packed, 777)), encoding="gzip", submitted_by="ana"
    )
    assert accepted.bytes == len(raw)
    assert accepted.record["wire_bytes"] == len(packed)
    sha = accepted.sha256
    stored = list((tmp_path / "incoming").glob("*.json"))
    assert len(stored) == 1 and stored[0].read_bytes() == raw
    assert not list((tmp_path / "incoming").glob("*.part"))
    record = intake.status(accepted.snapshot.snapshot_id)
    assert record is not None and record["status"] == "accepted"
    assert record["submitted_by"] == "ana" and record["sha256"] == sha
    # the consumer gets the parsed one back (the same object) and, once it is gone from
    # memory, from the file; never a snapshot whose hash differs from the reference's
    assert intake.load(accepted.snapshot.snapshot_id, sha) is accepted.snapshot
    fresh = SnapshotIntake(tmp_path)
    assert fresh.load(accepted.snapshot.snapshot_id, sha) == accepted.snapshot
    assert fresh.load(accepted.snapshot.snapshot_id, "0" * 64) is None


async def test_gzip_members_back_to_back_make_one_body(tmp_path: Path, raw: bytes) -> None:
    half = len(raw) // 2
    packed = gzip.compress(raw[:half]) + gzip.compress(raw[half:])
    accepted = await SnapshotIntake(tmp_path).receive(
        _body(packed), encoding="x-gzip", submitted_by=""
    )
    assert accepted.bytes == len(raw)


@pytest.mark.parametrize(
    ("body", "encoding", "status", "words"),
    [
        (b"", None, 400, "Empty body"),
        (b"{nope", None, 422, "not a valid snapshot"),
        (b'{"snapshot_id": "x"}', None, 422, "not a valid snapshot"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 20, "gzip", 400, "corrupt"),
        (gzip.compress(b"{}", mtime=0)[:-4], "gzip", 400, "ends before"),
        (b"{}", "br", 415, "not supported"),
    ],
    ids=["empty", "not-json", "not-a-snapshot", "corrupt-gzip", "cut-gzip", "brotli"],
)
async def test_what_is_refused_leaves_nothing_behind(
    tmp_path: Path, body: bytes, encoding: str | None, status: int, words: str
) -> None:
    intake = SnapshotIntake(tmp_path)
    with pytest.raises(IntakeError) as caught:
        await intake.receive(_body(body), encoding=encoding, submitted_by="x")
    assert caught.value.status == status
    assert words in f"{caught.value.title} {caught.value.detail}"
    assert not list((tmp_path / "incoming").iterdir())
    assert not list((tmp_path / "intake").iterdir())


async def test_field_errors_are_named_and_bounded(tmp_path: Path, raw: bytes) -> None:
    doc = json.loads(raw)
    doc["collected_at"] = "yesterday"
    doc["devices"] = [{"hostname": ""}] * 500
    with pytest.raises(IntakeError) as caught:
        await SnapshotIntake(tmp_path).receive(
            _body(json.dumps(doc).encode()), encoding=None, submitted_by="x"
        )
    errors = caught.value.errors or []
    assert any(e["field"] == "collected_at" for e in errors)
    assert len(errors) <= 50


async def test_a_gzip_bomb_is_stopped_at_the_limit_without_inflating_it_whole(
    tmp_path: Path,
) -> None:
    limit = 1_000_000
    bomb = gzip.compress(b"0" * (200 * limit))  # ~200 kB that inflate to 200 MB
    intake = SnapshotIntake(tmp_path, max_bytes=limit)
    with pytest.raises(IntakeError) as caught:
        await intake.receive(_body(bomb), encoding="gzip", submitted_by="x")
    assert caught.value.status == 413
    assert "MESHQ_SNAPSHOT_MAX_BYTES" in caught.value.detail
    assert not list((tmp_path / "incoming").iterdir())


async def test_the_final_status_wakes_whoever_waits_and_drops_the_file(
    tmp_path: Path, raw: bytes
) -> None:
    intake = SnapshotIntake(tmp_path)
    accepted = await intake.receive(_body(raw), encoding=None, submitted_by="x")
    sid = accepted.snapshot.snapshot_id
    started = time.monotonic()
    short = await intake.wait(sid, 0.2)
    assert short is not None and short["status"] == "accepted"
    assert time.monotonic() - started >= 0.2

    async def finish_soon() -> None:
        await asyncio.sleep(0.1)
        intake.finish(accepted.snapshot, "applied", result={"empty": False})

    waiter = asyncio.create_task(intake.wait(sid, 10))
    await finish_soon()
    record = await asyncio.wait_for(waiter, 2)
    assert record is not None and record["status"] == "applied"
    assert record["finished_at"] and record["result"] == {"empty": False}
    assert set(public_status(record)) >= {"snapshot_id", "status", "result", "reason"}
    assert not list((tmp_path / "incoming").glob("*.json"))
    assert intake.pending() == []
    assert await intake.wait("never-seen", 1) is None


async def test_the_sweep_queues_again_what_waited_too_long_and_skips_what_is_applying(
    tmp_path: Path, raw: bytes
) -> None:
    intake = SnapshotIntake(tmp_path)
    first = await intake.receive(_body(raw), encoding=None, submitted_by="x")
    other = load_snapshot().model_copy(update={"snapshot_id": "second-one"})
    second = await intake.receive(
        _body(other.model_dump_json().encode()), encoding=None, submitted_by="x"
    )
    sent: list[dict[str, Any]] = []

    async def publish(record: dict[str, Any]) -> None:
        sent.append(record)

    # never queued: both go out; queued just now: nothing goes out again before `after`
    assert await intake.sweep(publish, after=60) == 2
    assert await intake.sweep(publish, after=60) == 0
    assert await intake.sweep(publish, after=0) == 2
    intake.applying.add(second.snapshot.snapshot_id)
    sent.clear()
    assert await intake.sweep(publish, after=0) == 1
    assert sent[0]["snapshot_id"] == first.snapshot.snapshot_id

    async def broken(_: dict[str, Any]) -> None:
        raise ConnectionError("broker away")

    assert await intake.sweep(broken, after=0) == 0  # tried again at the next sweep

    # a record whose stored file vanished is refused, with what to do
    for path in (tmp_path / "incoming").glob("*.json"):
        path.unlink()
    intake.applying.clear()
    await intake.sweep(publish, after=0)
    record = intake.status(first.snapshot.snapshot_id)
    assert record is not None and record["status"] == "rejected"
    assert "submit it again" in record["reason"]


async def test_old_final_records_are_pruned_and_pending_ones_kept(
    tmp_path: Path, raw: bytes
) -> None:
    intake = SnapshotIntake(tmp_path)
    accepted = await intake.receive(_body(raw), encoding=None, submitted_by="x")
    intake.finish("done-long-ago", "applied")
    old = time.time() - 40 * 24 * 3600
    for path in (tmp_path / "intake").glob("*.json"):
        os.utime(path, (old, old))

    async def publish(_: dict[str, Any]) -> None:
        return None

    await intake.sweep(publish, after=0)
    assert intake.status("done-long-ago") is None
    assert intake.status(accepted.snapshot.snapshot_id) is not None


def test_a_receive_cut_short_by_a_crash_is_cleaned_at_start(tmp_path: Path) -> None:
    SnapshotIntake(tmp_path)
    (tmp_path / "incoming" / "receiving-1-2.part").write_bytes(b"{half")
    SnapshotIntake(tmp_path)
    assert not list((tmp_path / "incoming").iterdir())


async def test_a_large_snapshot_is_not_kept_parsed_but_read_again_from_its_file(
    tmp_path: Path, raw: bytes
) -> None:
    intake = SnapshotIntake(tmp_path, keep_parsed_bytes=len(raw) - 1)
    accepted = await intake.receive(_body(raw), encoding=None, submitted_by="ana")
    snapshot_id = accepted.snapshot.snapshot_id
    assert snapshot_id not in intake._parsed
    again = intake.load(snapshot_id, accepted.sha256)
    assert again is not None and again is not accepted.snapshot
    assert again == accepted.snapshot
    small = SnapshotIntake(tmp_path / "small", keep_parsed_bytes=len(raw))
    kept = await small.receive(_body(raw), encoding=None, submitted_by="ana")
    assert small.load(snapshot_id, kept.sha256) is kept.snapshot
