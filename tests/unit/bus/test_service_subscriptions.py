"""Each service's own subscriptions (its ``register``) in memory: the events reach its handlers
through the same steps as on the broker, and its failure policy holds (the audit service's:
``tests/unit/audit/test_audit_consumer_policy.py``)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import asyncpg
from meshq_graph_engine.handlers import register as register_graph_engine
from meshq_graph_engine.reader import GraphReader, follow_topology
from meshq_netbox_sync.handlers import register as register_netbox
from meshq_soar_dispatcher.handlers import register as register_soar
from network_discovery.contracts import topics
from network_discovery.contracts.events import (
    AuditRecorded,
    AuditRecordedData,
    AuditRequestData,
    NetboxSyncRequested,
    NetboxSyncRequestedData,
    SnapshotPatch,
    SnapshotRejected,
    SnapshotRejectedData,
    TopologyChanged,
    TopologyChangedData,
)
from network_discovery.model import MetadataPatch
from support.memory_bus import MemoryKafka

REQUEST = AuditRequestData(
    principal="p", auth_method="api_key", method="GET", path="/q", status=200, elapsed_ms=1
)


def _changed(*, source: str = "lab", empty: bool = False) -> TopologyChanged:
    data = TopologyChangedData(snapshot_id="s1", source=source, empty=empty)
    return TopologyChanged(source="graph-engine", subject=source, data=data)


def _rejected() -> SnapshotRejected:
    data = SnapshotRejectedData(snapshot_id="s2", source="lab", reason="over the device limit")
    return SnapshotRejected(source="graph-engine", subject="lab", data=data)


async def test_soar_hands_every_announcement_to_the_dispatcher() -> None:
    kafka = MemoryKafka(service="soar-dispatcher")
    handled: list[AuditRecorded] = []

    async def handle(event: AuditRecorded) -> None:
        if event.data.request.path == "/refused":
            raise asyncpg.InvalidTextRepresentationError("invalid input syntax")
        handled.append(event)

    register_soar(kafka.consumer, SimpleNamespace(handle=handle))  # type: ignore[arg-type]

    def recorded(seq: int, path: str) -> AuditRecorded:
        request = REQUEST.model_copy(update={"path": path})
        data = AuditRecordedData(seq=seq, entry_hash="h", audit_event_id=f"a{seq}", request=request)
        return AuditRecorded(source="audit", data=data)

    fine, refused = recorded(1, "/q"), recorded(2, "/refused")
    async with kafka.running():
        await kafka.bus.publish(refused)
        await kafka.bus.publish(fine)
    assert handled == [fine]
    assert [p.headers["x-meshq-error-kind"] for p in kafka.parked] == ["permanent"]


async def test_netbox_sync_runs_requests_and_pushes_after_applied_snapshots_only() -> None:
    kafka = MemoryKafka(service="netbox-sync")
    runs: list[dict[str, Any]] = []
    wakes = 0

    async def run(**kwargs: Any) -> None:
        runs.append(kwargs)

    def wake() -> None:
        nonlocal wakes
        wakes += 1

    sync = SimpleNamespace(run=run, wake=wake, settings=SimpleNamespace(direction="push"))
    register_netbox(kafka.consumer, sync)  # type: ignore[arg-type]
    request = NetboxSyncRequested(
        source="cli", data=NetboxSyncRequestedData(direction="pull", requested_by="ops")
    )
    async with kafka.running():
        await kafka.bus.publish(request)
        await kafka.bus.publish(_changed())
        await kafka.bus.publish(_rejected())  # nothing applied: nothing to push
        await kafka.bus.publish(_changed(empty=True))
        await kafka.bus.publish(_changed(source="netbox"))  # NetBox's own data coming back
    assert runs == [
        {
            "direction": "pull",
            "dry_run": False,
            "trigger": "requested by ops",
            "correlation_id": request.correlation_id,
        }
    ]
    assert wakes == 1 and not kafka.parked and kafka.commits == 5


async def test_a_graph_reader_rereads_the_revision_after_each_applied_snapshot() -> None:
    kafka = MemoryKafka(service="graph-engine")
    reader = GraphReader(store=SimpleNamespace())  # type: ignore[arg-type]
    refreshes = 0

    async def refresh() -> bool:
        nonlocal refreshes
        refreshes += 1
        return True

    reader.refresh = refresh  # type: ignore[method-assign]
    group = follow_topology(kafka.consumer, reader, "graph-engine")
    assert group.startswith("mem.graph-engine-reader.")  # a group of this process alone
    async with kafka.running():
        await kafka.bus.publish(_changed())
        await kafka.bus.publish(_rejected())
    assert refreshes == 1 and kafka.commits == 2 and not kafka.parked


async def test_the_graph_engine_takes_every_ingest_event() -> None:
    kafka = MemoryKafka(service="graph-engine")
    got: list[Any] = []

    async def on_event(event: Any) -> None:
        got.append(event)

    register_graph_engine(kafka.consumer, SimpleNamespace(on_event=on_event))  # type: ignore[arg-type]
    patch = SnapshotPatch(
        source="netbox",
        subject="netbox",
        data=MetadataPatch(hostname="sw1", source="netbox", site="hq"),
    )
    async with kafka.running():
        await kafka.bus.publish(patch)
        await kafka.publish_raw(topics.INGEST_SNAPSHOTS, b'{"type": "ingest.unknown"}')
    assert got == [patch]
    assert [p.headers["x-meshq-error-kind"] for p in kafka.parked] == ["invalid"]
