"""A graph-engine process killed (SIGKILL) in the middle of applying a snapshot: the restarted
process lists the snapshot in ``GET /internal/snapshots`` as soon as it is ready, with the graph
holding it, and the redelivered last chunk changes nothing and keeps that record.

``MESHQ_FAILPOINTS`` holds the apply at the point under test (before any fact is written, or
after the facts and before the projection and the record) so that the kill lands there; the
snapshot is large enough to travel in chunks, the path on which a crash used to lose the
record for good (the chunks were gone, so nothing could re-apply it).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from network_discovery.contracts import topics
from network_discovery.contracts.events import TopologyChanged
from network_discovery.demo import load_snapshot
from support.kafka_publish import await_result, publish_snapshot
from support.kafka_publish import tail as tail_topic
from support.procs import ServiceProc, internal_headers

pytestmark = pytest.mark.integration


def _wait_for_log(proc: ServiceProc, text: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in proc.logs():
        assert proc.proc is not None and proc.proc.poll() is None, proc.tail()
        assert time.monotonic() < deadline, f"never logged {text!r}:\n{proc.tail()}"
        time.sleep(0.05)


def _snapshots(proc: ServiceProc, env: dict[str, str]) -> dict[str, dict[str, Any]]:
    response = httpx.get(f"{proc.url}/internal/snapshots", headers=internal_headers(env))
    assert response.status_code == 200, response.text
    return {row["snapshot_id"]: row for row in response.json()}


def _devices(proc: ServiceProc, env: dict[str, str]) -> int:
    response = httpx.post(
        f"{proc.url}/internal/queries/all_devices",
        json={},
        headers=internal_headers(env),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return int(response.json()["row_count"])


@pytest.mark.parametrize("point", ["engine.pause_after_journal", "engine.pause_after_facts"])
async def test_a_snapshot_applied_when_graph_engine_died_is_listed_after_restart(
    service_env: dict[str, str], spawn: Callable[..., ServiceProc], point: str
) -> None:
    held = spawn("meshq_graph_engine", {**service_env, "MESHQ_FAILPOINTS": point})
    held.wait_healthy()
    bootstrap, prefix = (
        service_env["MESHQ_KAFKA_BOOTSTRAP"],
        service_env["MESHQ_KAFKA_TOPIC_PREFIX"],
    )
    snapshot = load_snapshot()
    sent = await publish_snapshot(
        snapshot, bootstrap=bootstrap, topic_prefix=prefix, max_message_bytes=120_000
    )
    assert sent.messages > 1  # chunked
    _wait_for_log(held, f'"failpoint": "{point}"')
    assert held.proc is not None
    os.kill(held.proc.pid, signal.SIGKILL)  # mid-apply, nothing flushed or closed
    held.proc.wait(timeout=30)

    tail = await tail_topic(bootstrap, prefix + topics.TOPOLOGY_CHANGED.name)
    try:
        restarted = spawn("meshq_graph_engine", service_env, name="graph-engine-restarted")
        restarted.wait_healthy()
        # ready means the start-up repair ran: the record is there before any redelivery
        listed = _snapshots(restarted, service_env)
        assert snapshot.snapshot_id in listed, (listed, restarted.tail())
        record = listed[snapshot.snapshot_id]
        assert record["recovered"] is True and not record.get("incomplete"), record
        assert record["added"]["devices"] >= 30, record  # what the snapshot changed
        devices = _devices(restarted, service_env)
        assert devices >= 30
        how = "recorded" if point == "engine.pause_after_facts" else "applied again"
        assert f'"how": "{how}"' in restarted.logs(), restarted.tail()

        # the last chunk comes again (its offset was never committed): the snapshot is
        # reassembled from the chunks kept on disk, changes nothing, keeps its record
        answer = await await_result(tail, snapshot.snapshot_id, sent.correlation_id, 90)
        assert isinstance(answer, TopologyChanged) and answer.data.empty, answer
    finally:
        await tail.stop()
    again = _snapshots(restarted, service_env)[snapshot.snapshot_id]
    assert again["recovered"] is True and again["added"] == record["added"]
    assert _devices(restarted, service_env) == devices
