"""Kafka handlers: snapshots (stored references, inline, or in chunks) and metadata patches in;
topology changes out. Every snapshot's outcome is also written to its status record
(:mod:`meshq_graph_engine.intake`), which ``GET /snapshots/{id}`` reports."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC
from typing import Any

import structlog
from meshq_runtime.kafka import EventBus, EventConsumer
from network_discovery.contracts import topics
from network_discovery.contracts.envelope import new_event_id
from network_discovery.contracts.events import (
    SnapshotChunk,
    SnapshotPatch,
    SnapshotRejected,
    SnapshotRejectedData,
    SnapshotStored,
    SnapshotSubmitted,
    TopologyChanged,
    TopologyChangedData,
)
from network_discovery.model import MetadataPatch, Snapshot
from pydantic import ValidationError

from meshq_graph_engine.archive import ChunkError, SnapshotArchive
from meshq_graph_engine.compliance.configs import ConfigStore
from meshq_graph_engine.engine import DeviceLimitExceeded, GraphEngine
from meshq_graph_engine.facts import SnapshotFacts, read_snapshot
from meshq_graph_engine.intake import SnapshotIntake
from meshq_graph_engine.revision import read_stamp

__all__ = ["IngestHandlers", "register"]

log = structlog.get_logger(__name__)
SOURCE = "graph-engine"
#: Seconds a patch command waits for its turn on the ingest topic.
COMMAND_TIMEOUT = 60.0


def _follow_up_id(event_id: str) -> str:
    """The same incoming event always yields the same outgoing id (a redelivered event is
    announced again under the id it had the first time)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"meshq:topology:{event_id}"))


IngestEvent = SnapshotSubmitted | SnapshotChunk | SnapshotPatch | SnapshotStored


class IngestHandlers:
    def __init__(
        self,
        engine: GraphEngine,
        bus: EventBus,
        archive: SnapshotArchive,
        intake: SnapshotIntake,
        configs: ConfigStore | None = None,
    ) -> None:
        self.engine, self.bus, self.archive, self.intake = engine, bus, archive, intake
        #: Where the configuration texts snapshots carry are kept (compliance); None: dropped.
        self.configs = configs
        engine.patched = self.announce_patch  # a patch applied by a query is announced too
        engine.command = self.command_patch
        #: Patch commands waiting for their event to be applied, by event id.
        self._commands: dict[str, asyncio.Future[dict[str, Any]]] = {}

    async def on_event(self, event: IngestEvent) -> None:
        if isinstance(event, SnapshotPatch):
            merged = await self.engine.apply_patch(event.data, cause=event.id)
            waiting = self._commands.get(event.id)
            if waiting is not None and not waiting.done():
                waiting.set_result(merged)
            return
        if isinstance(event, SnapshotStored):
            await self.on_stored(event)
            return
        if isinstance(event, SnapshotChunk):
            try:
                whole = self.archive.add_chunk(event.data)
                if whole is None:
                    return
                # its facts as rows: the whole snapshot's models are never in memory at once
                facts = read_snapshot(whole)
            except (ChunkError, ValidationError, ValueError) as exc:
                self.archive.drop_chunks(event.data)
                await self._reject(event, event.data.snapshot_id, "unknown", str(exc)[:2000])
                return
            del whole
            await self.apply(event, facts)
            # only now: a crash before this point redelivers the last chunk, which finds the
            # others still on disk
            self.archive.drop_chunks(event.data)
            return
        await self.apply(event, event.data)

    async def on_stored(self, event: SnapshotStored) -> None:
        """A snapshot submitted through the gateway: applied from the writer's store, once."""
        ref = event.data
        record = self.intake.status(ref.snapshot_id)
        if record is None or record.get("sha256") != ref.sha256:
            log.warning("snapshot.reference_stale", snapshot_id=ref.snapshot_id)
            return  # a reference to a submission that a later one of the same id replaced
        if record.get("status") != "accepted":
            return  # already applied or refused: a repeated reference
        snapshot = self.intake.load(ref.snapshot_id, ref.sha256)
        if snapshot is None:
            await self._reject(
                event,
                ref.snapshot_id,
                ref.source or "unknown",
                "the stored snapshot was lost before it could be applied; submit it again",
            )
            return
        self.intake.applying.add(ref.snapshot_id)
        try:
            await self.apply(event, snapshot)
        finally:
            self.intake.applying.discard(ref.snapshot_id)

    async def apply(
        self,
        event: SnapshotSubmitted | SnapshotChunk | SnapshotStored,
        snapshot: Snapshot | SnapshotFacts,
    ) -> None:
        try:
            result = await self.engine.apply_snapshot(snapshot)
        except DeviceLimitExceeded as exc:
            plan, limit = self.engine.device_limit()
            await self._reject(event, snapshot.snapshot_id, snapshot.source, str(exc), plan, limit)
            return
        # before topology.changed: the compliance run that follows reads them
        await self._keep_configs(snapshot)
        if self.engine.archive is None:  # else the engine archived it before its first write
            if isinstance(snapshot, SnapshotFacts):
                self.archive.save_json(snapshot.snapshot_id, snapshot.json_chunks())
            else:
                self.archive.save(snapshot)
        revision = await self._revision()
        data = TopologyChangedData(
            snapshot_id=snapshot.snapshot_id,
            source=snapshot.source,
            scope_devices=result.scope_devices,
            added=result.added,
            removed=result.removed,
            updated=result.updated,
            empty=result.empty,
            **revision,
        )
        await self.bus.publish(
            event.follow_up(
                TopologyChanged,
                id=_follow_up_id(event.id),
                source=SOURCE,
                subject=snapshot.source,
                data=data,
            )
        )
        # last: a crash before this line applies the redelivered event again (changing
        # nothing) and then writes the status
        self.intake.finish(
            snapshot,
            "applied",
            result={
                "scope_devices": len(result.scope_devices),
                "added": result.added,
                "removed": result.removed,
                "updated": result.updated,
                "empty": result.empty,
                "elapsed_ms": result.elapsed_ms,
                **revision,
            },
        )

    async def _keep_configs(self, snapshot: Snapshot | SnapshotFacts) -> None:
        """The configuration texts the snapshot carried, into the compliance store (a device
        the snapshot has none for keeps the one it has); then let go of them."""
        configs = snapshot.configs
        if not configs:
            return
        store = self.configs
        when = snapshot.collected_at
        try:
            if store is not None:
                rows = [
                    (
                        c.device,
                        c.text,
                        (c.collected_at or when).astimezone(UTC).isoformat(),
                        c.source,
                    )
                    for c in configs
                ]
                changed = await asyncio.to_thread(_put_all, store, rows, snapshot.snapshot_id)
                log.info(
                    "snapshot.configs_kept",
                    snapshot_id=snapshot.snapshot_id,
                    configs=len(rows),
                    changed=changed,
                )
                del rows
        except OSError as exc:  # the snapshot is applied all the same; the rules say unknown
            log.error(
                "snapshot.configs_unkept", snapshot_id=snapshot.snapshot_id, error=str(exc)[:300]
            )
        finally:
            if isinstance(configs, list):
                configs.clear()  # the rows outlive the apply (the intake keeps them a while)

    async def command_patch(
        self, patch: MetadataPatch, *, timeout: float = COMMAND_TIMEOUT
    ) -> dict[str, Any]:
        """Publish ``patch`` on the ingest topic and return the device's merged metadata once
        this writer's consumer has applied it (:class:`TimeoutError` after ``timeout``)."""
        event = SnapshotPatch(source=SOURCE, subject=patch.hostname, data=patch)
        waiting: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._commands[event.id] = waiting
        try:
            await self.bus.publish(event)
            return await asyncio.wait_for(waiting, timeout=timeout)
        finally:
            self._commands.pop(event.id, None)

    async def announce_patch(self, patch: MetadataPatch, changed: bool, cause: str | None) -> None:
        """A patch is a change like a snapshot: ``topology.changed`` says what it did (the
        same id for the same cause, so a redelivered patch is announced once)."""
        cause = cause or new_event_id()
        await self.bus.publish(
            TopologyChanged(
                id=_follow_up_id(cause),
                source=SOURCE,
                subject=str(patch.source),
                correlation_id=cause,
                data=TopologyChangedData(
                    snapshot_id=f"patch:{cause}",
                    source=str(patch.source),
                    kind="patch",
                    scope_devices=[patch.device_id],
                    updated={"devices": 1} if changed else {},
                    empty=not changed,
                    **await self._revision(),
                ),
            )
        )

    async def _revision(self) -> dict[str, Any]:
        """The graph's revision now, for ``topology.changed`` (the gateway's answer cache
        follows it)."""
        try:
            stamp = await read_stamp(self.engine.store)
        except Exception as exc:  # the change is announced all the same, without it
            log.warning("topology.revision_unread", error=f"{type(exc).__name__}: {exc}"[:300])
            return {}
        return {} if stamp is None else {"revision": stamp[0], "revision_at": stamp[1]}

    async def _reject(
        self,
        event: SnapshotSubmitted | SnapshotChunk | SnapshotStored,
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
        self.intake.finish(snapshot_id, "rejected", reason=reason, plan=plan, limit=limit)


def _put_all(store: ConfigStore, rows: list[tuple[str, str, str, str]], snapshot_id: str) -> int:
    changed = 0
    for device, text, collected_at, source in rows:
        changed += store.put(
            device, text, collected_at=collected_at, source=source, snapshot_id=snapshot_id
        )
    return changed


def register(consumer: EventConsumer, handlers: IngestHandlers) -> None:
    consumer.subscribe(topics.INGEST_SNAPSHOTS, handlers.on_event)
