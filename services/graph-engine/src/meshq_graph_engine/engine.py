"""The graph engine's write side: snapshots and patches in, a consistent graph out.

One writer at a time (an asyncio lock): replace the snapshot's fact sets, project the whole
graph, diff it against what the store holds, apply the difference in batches, record the
snapshot, and report the diff. The facts are written before the projection, so after a crash
the next start re-projects from the facts and repairs the store.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from meshq_runtime.graph import writer
from meshq_runtime.graph.store import GraphStore
from network_discovery.model import Device, MetadataPatch, Snapshot

from meshq_graph_engine.diff import GraphDiff, apply_diff, diff, read_projection
from meshq_graph_engine.facts import FactKey, FactStore, facts_by_scope
from meshq_graph_engine.projection import Projection, project
from meshq_graph_engine.revision import read_revision, write_revision

__all__ = ["ApplyResult", "DeviceLimitExceeded", "GraphEngine"]

log = structlog.get_logger(__name__)


class DeviceLimitExceeded(Exception):
    """The snapshot would take the graph past the plan's device limit."""


@dataclass(frozen=True)
class ApplyResult:
    snapshot_id: str
    added: dict[str, int]
    removed: dict[str, int]
    updated: dict[str, int]
    empty: bool
    elapsed_ms: float
    scope_devices: list[str]


class GraphEngine:
    #: The one process that changes the graph (query-only replicas are ``reader.GraphReader``).
    writes = True

    def __init__(
        self, store: GraphStore, *, device_limit: Callable[[], tuple[str, int | None]] | None = None
    ) -> None:
        self.store = store
        self.facts = FactStore()
        self.projection = Projection()
        self._lock = asyncio.Lock()
        self.device_limit = device_limit or (lambda: ("unlimited", None))
        #: Moves on every change to the graph, so readers may cache what they derive from it.
        #: Kept in the store too, where query-only replicas follow it.
        self.revision = 0

    async def start(self) -> None:
        """Load the facts, re-project, and repair the store where it drifted."""
        await writer.ensure_schema(self.store)
        self.revision = await read_revision(self.store)
        fact_rows = (await writer.read_nodes(self.store, "FactSet")).values()
        patch_rows = (await writer.read_nodes(self.store, "Patch")).values()
        self.facts.load(fact_rows, patch_rows)
        current = await read_projection(self.store)
        target = project(self.facts, current)
        repair = diff(current, target)
        if repair.writes():
            log.warning("graph.repair", writes=repair.writes())
            await apply_diff(self.store, repair)
            await self._advance()
        self.projection = target
        log.info(
            "graph.loaded",
            fact_sets=len(self.facts.sets),
            devices=len(target.nodes.get("Device", {})),
        )

    async def apply_snapshot(self, snapshot: Snapshot) -> ApplyResult:
        async with self._lock:
            started = time.monotonic()
            grouped = facts_by_scope(snapshot)
            collected = snapshot.collected_at.astimezone(UTC).isoformat()
            saved = {
                key: (
                    self.facts.sets.get(key),
                    self.facts.origin.get(key),
                    self.facts.seen.get(key),
                )
                for key in grouped
            }
            changed, removed = self.facts.replace(snapshot.snapshot_id, collected, grouped)
            target = project(self.facts, self.projection)
            plan, limit = self.device_limit()
            count = target.managed_device_count()
            if (
                limit is not None
                and count > limit
                and count > self.projection.managed_device_count()
            ):
                self._restore(saved)
                raise DeviceLimitExceeded(
                    f"snapshot {snapshot.snapshot_id} would bring the graph to {count} managed "
                    f"devices; the {plan} plan allows {limit}"
                )
            await self._write_fact_sets(grouped, changed, removed)
            d = diff(self.projection, target)
            await apply_diff(self.store, d)
            self.projection = target
            result = self._result(snapshot, d, started)
            await self._record(snapshot, result)
            await self._advance()
            log.info(
                "snapshot.applied",
                snapshot_id=snapshot.snapshot_id,
                added=result.added,
                removed=result.removed,
                updated=result.updated,
                elapsed_ms=result.elapsed_ms,
            )
            return result

    async def apply_patch(self, patch: MetadataPatch) -> dict[str, Any]:
        async with self._lock:
            merged = self.facts.apply_patch(patch)
            row = {"id": patch.device_id, "device": patch.device_id, "payload": json.dumps(merged)}
            await writer.delete_nodes(self.store, "Patch", [patch.device_id])
            await writer.create_nodes(self.store, "Patch", [row])
            # A patch changes one device record: update that row, not the whole projection.
            current = self.projection.nodes["Device"].get(patch.device_id)
            if current is not None and current.get("managed"):
                fields = {k: current[k] for k in Device.model_fields if k in current}
                device = Device.model_validate({**fields, **merged})
                shaped = Projection()
                shaped.add_node(
                    "Device",
                    {
                        **device.model_dump(mode="json"),
                        "id": device.id,
                        "degree": current["degree"],
                    },
                )
                row = shaped.nodes["Device"][patch.device_id]
                if row != current:
                    await writer.update_nodes(self.store, "Device", [row])
                    self.projection.nodes["Device"][patch.device_id] = row
                    await self._advance()
            log.info("patch.applied", device=patch.device_id, source=str(patch.source))
            return merged

    async def _advance(self) -> None:
        """Move the revision, here and in the store (the last write of a change)."""
        self.revision += 1
        await write_revision(self.store, self.revision)

    def _restore(self, saved: dict[FactKey, tuple[Any, Any, Any]]) -> None:
        for key, (facts, origin, seen) in saved.items():
            self.facts.parsed.pop(key, None)
            if facts is None:
                self.facts.sets.pop(key, None)
                self.facts.origin.pop(key, None)
                self.facts.seen.pop(key, None)
            else:
                self.facts.sets[key], self.facts.origin[key], self.facts.seen[key] = (
                    facts,
                    origin,
                    seen,
                )

    async def _write_fact_sets(
        self, grouped: dict[FactKey, Any], changed: list[FactKey], removed: list[FactKey]
    ) -> None:
        ids = [f"{d}|{k}" for d, k in changed + removed]
        if ids:
            await writer.delete_nodes(self.store, "FactSet", ids)
        rows = [
            {
                "id": f"{device}|{kind}",
                "device": device,
                "kind": kind,
                "snapshot_id": self.facts.origin[(device, kind)],
                "collected_at": self.facts.seen[(device, kind)],
                "payload": json.dumps(self.facts.sets[(device, kind)], sort_keys=True),
            }
            for device, kind in changed
        ]
        if rows:
            await writer.create_nodes(self.store, "FactSet", rows)

    def _result(self, snapshot: Snapshot, d: GraphDiff, started: float) -> ApplyResult:
        added, removed, updated = d.summary()
        return ApplyResult(
            snapshot_id=snapshot.snapshot_id,
            added=added,
            removed=removed,
            updated=updated,
            empty=d.empty,
            elapsed_ms=round((time.monotonic() - started) * 1000, 1),
            scope_devices=sorted(snapshot.scope_map()),
        )

    async def _record(self, snapshot: Snapshot, result: ApplyResult) -> None:
        row = {
            "id": snapshot.snapshot_id,
            "source": snapshot.source,
            "collected_at": snapshot.collected_at.astimezone(UTC).isoformat(),
            "applied_at": datetime.now(UTC).isoformat(),
            "scope_devices": len(result.scope_devices),
            "summary": json.dumps(
                {
                    "added": result.added,
                    "removed": result.removed,
                    "updated": result.updated,
                    "empty": result.empty,
                    "counts": snapshot.counts(),
                },
                sort_keys=True,
            ),
        }
        await writer.delete_nodes(self.store, "Snapshot", [snapshot.snapshot_id])
        await writer.create_nodes(self.store, "Snapshot", [row])
