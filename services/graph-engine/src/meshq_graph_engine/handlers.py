"""Kafka handlers: snapshots, snapshot chunks and metadata patches in; topology changes out."""

from __future__ import annotations

import uuid

import structlog
from meshq_runtime.kafka import EventBus, EventConsumer
from network_discovery.contracts import topics
from network_discovery.contracts.events import (
    SnapshotChunk,
    SnapshotPatch,
    SnapshotRejected,
    SnapshotRejectedData,
    SnapshotSubmitted,
    TopologyChanged,
    TopologyChangedData,
)
from network_discovery.model import Snapshot
from pydantic import ValidationError

from meshq_graph_engine.archive import ChunkError, SnapshotArchive
from meshq_graph_engine.engine import DeviceLimitExceeded, GraphEngine

__all__ = ["IngestHandlers", "register"]

log = structlog.get_logger(__name__)
SOURCE = "graph-engine"


def _follow_up_id(event_id: str) -> str:
    """The same incoming event always yields the same outgoing id (consumers dedupe on it)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"meshq:topology:{event_id}"))


class IngestHandlers:
    def __init__(self, engine: GraphEngine, bus: EventBus, archive: SnapshotArchive) -> None:
        self.engine, self.bus, self.archive = engine, bus, archive

    async def on_event(self, event: SnapshotSubmitted | SnapshotChunk | SnapshotPatch) -> None:
        if isinstance(event, SnapshotPatch):
            await self.engine.apply_patch(event.data)
            return
        if isinstance(event, SnapshotChunk):
            try:
                whole = self.archive.add_chunk(event.data)
                if whole is None:
                    return
                snapshot = Snapshot.model_validate_json(whole)
            except (ChunkError, ValidationError, ValueError) as exc:
                self.archive.drop_chunks(event.data)
                await self._reject(event, event.data.snapshot_id, "unknown", str(exc)[:2000])
                return
            await self.apply(event, snapshot)
            # only now: a crash before this point redelivers the last chunk, which finds the
            # others still on disk
            self.archive.drop_chunks(event.data)
            return
        await self.apply(event, event.data)

    async def apply(self, event: SnapshotSubmitted | SnapshotChunk, snapshot: Snapshot) -> None:
        try:
            result = await self.engine.apply_snapshot(snapshot)
        except DeviceLimitExceeded as exc:
            plan, limit = self.engine.device_limit()
            await self._reject(event, snapshot.snapshot_id, snapshot.source, str(exc), plan, limit)
            return
        if self.engine.archive is None:  # else the engine archived it before its first write
            self.archive.save(snapshot)
        await self.bus.publish(
            event.follow_up(
                TopologyChanged,
                id=_follow_up_id(event.id),
                source=SOURCE,
                subject=snapshot.source,
                data=TopologyChangedData(
                    snapshot_id=snapshot.snapshot_id,
                    source=snapshot.source,
                    scope_devices=result.scope_devices,
                    added=result.added,
                    removed=result.removed,
                    updated=result.updated,
                    empty=result.empty,
                ),
            )
        )

    async def _reject(
        self,
        event: SnapshotSubmitted | SnapshotChunk,
        snapshot_id: str,
        source: str,
        reason: str,
        plan: str | None = None,
        limit: int | None = None,
    ) -> None:
        log.warning("snapshot.rejected", snapshot_id=snapshot_id, reason=reason[:300])
        await self.bus.publish(
            event.follow_up(
                SnapshotRejected,
                id=_follow_up_id(event.id),
                source=SOURCE,
                subject=source,
                data=SnapshotRejectedData(
                    snapshot_id=snapshot_id, source=source, reason=reason, plan=plan, limit=limit
                ),
            )
        )


def register(consumer: EventConsumer, handlers: IngestHandlers) -> None:
    consumer.subscribe(topics.INGEST_SNAPSHOTS.name, handlers.on_event)
