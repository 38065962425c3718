"""The graph engine's write side: snapshots and patches in, a consistent graph out.

One writer at a time (an asyncio lock): replace the snapshot's fact sets, re-derive what they
touch (:class:`~meshq_graph_engine.live.LiveGraph`: the graph in memory is updated in place and
the difference is known key by key), apply the difference in batches, record the snapshot,
and report the diff. The facts are written before the projection, so after a crash
the next start re-projects from the facts and repairs the store; the apply is journalled
before its facts (``journal``), so that start also writes the snapshot's record (or applies
it again from the archive): the snapshot registry and the graph agree after any crash.

``MESHQ_FAILPOINTS`` (for resilience tests only, never set in production) can hold the apply
where a crash hurts most, so that a test can kill the process there:
``engine.pause_after_journal`` (journalled, no fact written yet) and
``engine.pause_after_facts`` (facts written, projection and record not).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog
from meshq_runtime.graph import writer
from meshq_runtime.graph.store import GraphStore
from network_discovery.model import FactKind, MetadataPatch, Snapshot

from meshq_graph_engine import answers, journal
from meshq_graph_engine._gc import collector_paused
from meshq_graph_engine._memory import release_free_memory, resident_mb, tune_allocator
from meshq_graph_engine.diff import GraphDiff, apply_diff, diff, read_projection
from meshq_graph_engine.facts import FactKey, FactStore, SnapshotFacts, payload_of
from meshq_graph_engine.live import LiveGraph
from meshq_graph_engine.projection import Projection
from meshq_graph_engine.revision import read_revision, write_revision

__all__ = ["ApplyResult", "DeviceLimitExceeded", "GraphEngine"]

log = structlog.get_logger(__name__)

# before the embedded store's threads first allocate (a module of the writer imports this one
# before it opens the store); see ``_memory``
tune_allocator()

#: Fact sets written per store call.
_FACT_SET_BATCH = 20_000


class DeviceLimitExceeded(Exception):
    """The snapshot would take the graph past the plan's device limit."""


class Archive(Protocol):
    """Where snapshots are kept as they arrived (``archive.SnapshotArchive``)."""

    def save(self, snapshot: Snapshot) -> None: ...

    def save_json(self, snapshot_id: str, chunks: Iterable[bytes]) -> None: ...

    def load(self, snapshot_id: str) -> Snapshot | None: ...


@dataclass(frozen=True)
class ApplyResult:
    snapshot_id: str
    added: dict[str, int]
    removed: dict[str, int]
    updated: dict[str, int]
    empty: bool
    elapsed_ms: float
    scope_devices: list[str]
    #: Seconds each step of the apply took, in the order they ran (``_Stages``).
    stages: dict[str, float] = dataclasses.field(default_factory=dict)
    #: The process's resident set (MB) at the end of each step, and its peak so far
    #: (``[now, peak]``; empty where /proc is not there): which step makes the peak.
    stages_rss_mb: dict[str, list[float]] = dataclasses.field(default_factory=dict)


class _Stages:
    """Wall-clock seconds of each step of an apply, logged with it and kept in its result."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.rss: dict[str, list[float]] = {}
        self._last = time.perf_counter()

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        self.times[name] = round(self.times.get(name, 0.0) + now - self._last, 3)
        self._last = now
        memory = resident_mb()
        if memory is not None:
            self.rss[name] = list(memory)


class GraphEngine:
    #: The one process that changes the graph (query-only replicas are ``reader.GraphReader``).
    writes = True

    def __init__(
        self,
        store: GraphStore,
        *,
        device_limit: Callable[[], tuple[str, int | None]] | None = None,
        archive: Archive | None = None,
        failpoint: Callable[[str], bool] | None = None,
    ) -> None:
        self.store = store
        self.facts = FactStore()
        self.live = LiveGraph(self.facts)
        self._lock = asyncio.Lock()
        self.device_limit = device_limit or (lambda: ("unlimited", None))
        #: Snapshots are archived before their facts are written, so a restart can re-apply
        #: one whose apply a crash cut short.
        self.archive = archive
        self._failpoint = failpoint or (lambda _: False)
        #: A write failed midway: the projection in memory may not be what the store holds.
        self._stale = False
        #: What the store holds, where that is not the graph in memory (reloaded after a
        #: failed write): the next change's difference starts there.
        self._behind: Projection | None = None
        #: Moves on every change to the graph, so readers may cache what they derive from it.
        #: Kept in the store too, where query-only replicas follow it.
        self.revision = 0
        #: Told of every applied patch (``patch, changed, cause``): publishes the change.
        self.patched: Callable[[MetadataPatch, bool, str | None], Awaitable[None]] | None = None
        #: Sends a patch through the ingest topic and returns once it is applied (set by the
        #: service's handlers; without them a patch is applied here directly).
        self.command: Callable[[MetadataPatch], Awaitable[dict[str, Any]]] | None = None
        #: Told of every change once the store holds it and the revision has moved: the new
        #: revision and the change's difference (None where it is not known key by key).
        #: Views kept up to date from changes (blast radius, path analysis) register here;
        #: a listener must not raise.
        self.applied: list[Callable[[int, GraphDiff | None], None]] = []

    @property
    def quiet(self) -> bool:
        """Whether the graph in memory is the one the store holds now: no change is being
        applied and none failed midway (answers kept in memory may be served)."""
        return not self._lock.locked() and not self._stale

    @property
    def projection(self) -> Projection:
        """The graph as the store holds it (after each applied change)."""
        return self.live.projection

    async def start(self) -> None:
        """Load the facts, re-project, and repair the store where it drifted."""
        await writer.ensure_schema(self.store)
        self.revision = await read_revision(self.store)
        await self._load()
        await self._finish_interrupted()
        log.info(
            "graph.loaded",
            fact_sets=len(self.facts.sets),
            devices=len(self.projection.nodes.get("Device", {})),
        )

    async def _load(self, *, repair: bool = True) -> None:
        """Facts as the store holds them and the graph derived whole from them. At start
        (``repair``) the store is repaired where it drifted from that graph; after a write
        failed midway, the next change's difference is taken from what the store holds."""
        facts = FactStore()
        facts.load(
            (await writer.read_nodes(self.store, "FactSet")).values(),
            (await writer.read_nodes(self.store, "Patch")).values(),
        )
        current = await read_projection(self.store)
        live = LiveGraph.build(facts, current)
        facts.sets.pack()  # read once by the build: held packed from now on
        self.facts, self.live = facts, live
        self._stale = False
        if not repair:
            self._behind = current
            return
        self._behind = None
        fix = diff(current, live.projection)
        del current
        if fix.writes():
            log.warning("graph.repair", writes=fix.writes())
            await apply_diff(self.store, fix)
            await self._advance()

    def _change(self, d: GraphDiff) -> GraphDiff:
        """A change's difference as the store must take it (whole, when the store is behind
        the graph in memory after a failed write)."""
        return d if self._behind is None else diff(self._behind, self.live.projection)

    async def _finish_interrupted(self) -> None:
        """Record (or apply again) each snapshot whose apply a crash cut short."""
        rows = await self.store.execute("MATCH (s:Snapshot) RETURN max(s.applied_at) AS latest")
        latest = str(rows[0]["latest"] or "") if rows else ""
        for apply in await journal.pending(self.store):
            written = journal.facts_digest(apply.keys, self.facts.sets) == apply.digest
            # one that a later snapshot's apply overtook (it failed, the next one succeeded)
            # is never applied over that later one's facts: it is recorded as it stands
            overtaken = bool(latest) and apply.started_at < latest
            snapshot = (
                None
                if written or overtaken or self.archive is None
                else self.archive.load(apply.snapshot_id)
            )
            if snapshot is not None:
                log.warning(
                    "snapshot.recovered", snapshot_id=apply.snapshot_id, how="applied again"
                )
                try:
                    await self._apply(snapshot, original=apply.record)
                except Exception as exc:  # the engine starts anyway; the next start retries
                    log.error(
                        "snapshot.recovery_failed",
                        snapshot_id=apply.snapshot_id,
                        error=f"{type(exc).__name__}: {exc}"[:300],
                    )
                continue
            untouched = journal.facts_digest(apply.keys, self.facts.sets) == apply.before
            if not written and untouched and not overtaken:
                # nothing of it reached the graph, and there is nothing to apply it from
                log.warning(
                    "snapshot.apply_lost",
                    snapshot_id=apply.snapshot_id,
                    reason="the process stopped before writing its facts; the archive lacks it",
                    fix="ingest the snapshot again (a redelivered event applies it by itself)",
                )
                await journal.finish(self.store, apply.snapshot_id)
                continue
            record = _recovered(apply.record, incomplete=not written)
            if written:
                log.warning("snapshot.recovered", snapshot_id=apply.snapshot_id, how="recorded")
            else:
                log.error(
                    "snapshot.recovered_incomplete",
                    snapshot_id=apply.snapshot_id,
                    reason="a later snapshot was applied after it"
                    if overtaken
                    else "its facts were partly written and the archive has lost it",
                    fix="ingest the snapshot again",
                )
            await self._write_record(record)
            await journal.finish(self.store, apply.snapshot_id)

    async def apply_snapshot(self, snapshot: Snapshot | SnapshotFacts) -> ApplyResult:
        """Apply a snapshot, or its facts as rows (``facts.read_snapshot``: a large snapshot
        never needs all its models in memory)."""
        async with self._lock:
            try:
                # a large snapshot makes millions of long-lived objects: the cyclic collector
                # would scan the whole graph again and again while it is written (see ``_gc``)
                with collector_paused():
                    return await self._apply(snapshot)
            finally:
                release_free_memory()  # what the apply freed, back to the system

    async def _apply(
        self, given: Snapshot | SnapshotFacts, *, original: dict[str, Any] | None = None
    ) -> ApplyResult:
        """Apply under the lock (or at start); ``original``: the record an interrupted
        apply journalled, kept as the snapshot's record."""
        if self._stale:
            await self._load(repair=False)
        started = time.monotonic()
        stages = _Stages()
        snapshot = given if isinstance(given, SnapshotFacts) else SnapshotFacts.of(given)
        grouped = snapshot.grouped
        collected = snapshot.collected_iso
        saved = {
            key: (
                self.facts.sets.get(key),
                self.facts.origin.get(key),
                self.facts.seen.get(key),
            )
            for key in grouped
        }
        before = journal.facts_digest(grouped, self.facts.sets)
        changed, removed = self.facts.replace(snapshot.snapshot_id, collected, grouped)
        stages.mark("facts")
        plan, limit = self.device_limit()
        # the managed devices this snapshot adds (or takes away): counted over its own device
        # records, so that the whole count is taken only when the graph grows under a limit
        grows = sum(
            _managed(self.facts.sets.get(key, ())) - _managed(old or ())
            for key, (old, _, _) in saved.items()
            if key[1] == FactKind.DEVICE.value
        )
        if limit is not None and grows > 0 and (count := self.facts.managed_count()) > limit:
            self._restore(saved)
            raise DeviceLimitExceeded(
                f"snapshot {snapshot.snapshot_id} would bring the graph to {count} managed "
                f"devices; the {plan} plan allows {limit}"
            )
        stages.mark("limit")
        try:
            if self.live.empty():
                # a first ingest: derived whole, without keeping every key's prior absence
                live = LiveGraph.build(self.facts)
                d = diff(self.live.projection, live.projection)
                self.live = live
            else:
                changes = {key: (old or (), seen) for key, (old, _, seen) in saved.items()}
                d = self.live.update(changes)
            d = self._change(d)
            stages.mark("derive")
        except Exception:
            # the graph in memory is part-way through the change: derive it again from the
            # store's facts before the next change
            self._restore(saved)
            self._stale = True
            raise
        result = self._result(snapshot, d, started)
        record = original or self._record_row(snapshot, result)
        try:
            if self.archive is not None:
                if isinstance(given, SnapshotFacts):  # written from the rows, piece by piece
                    self.archive.save_json(given.snapshot_id, given.json_chunks())
                else:
                    self.archive.save(given)
                stages.mark("archive")
            digest, deflated = journal.packed_sets(grouped, changed)
            await journal.start(self.store, record, grouped, before, digest=digest)
            stages.mark("journal")
            await self._hold("engine.pause_after_journal")
            await self._write_fact_sets(changed, removed, deflated)
            stages.mark("fact_sets")
            await self._hold("engine.pause_after_facts")
            await apply_diff(self.store, d)
            stages.mark("graph_writes")
            await answers.maintain(self.store, d)
            stages.mark("answers")
            self._behind = None
            if original is not None:
                await self._write_record(_recovered(original, incomplete=False))
            else:
                await self._record(snapshot, result, record)
            await journal.finish(self.store, snapshot.snapshot_id)
            stages.mark("record")
        except Exception:
            # the store may hold part of the change: the next apply starts from what the
            # store holds (and a restart finishes this one from the journal)
            self._stale = True
            raise
        await self._advance(d)
        stages.mark("advance")
        # the sets written are held packed from now on (a tenth of their rows' memory)
        self.facts.sets.pack(deflated)
        stages.mark("pack")
        result = dataclasses.replace(
            result,
            elapsed_ms=round((time.monotonic() - started) * 1000, 1),
            stages=stages.times,
            stages_rss_mb=stages.rss,
        )
        log.info(
            "snapshot.applied",
            snapshot_id=snapshot.snapshot_id,
            added=result.added,
            removed=result.removed,
            updated=result.updated,
            elapsed_ms=result.elapsed_ms,
            stages=result.stages,
        )
        return result

    async def submit_patch(self, patch: MetadataPatch) -> dict[str, Any]:
        """A patch asked for through the API (``update_device_metadata``): a command on the
        ingest path like every other change, applied in turn, announced, then answered."""
        if self.command is not None:
            return await self.command(patch)
        return await self.apply_patch(patch)

    async def apply_patch(
        self, patch: MetadataPatch, *, cause: str | None = None
    ) -> dict[str, Any]:
        """Merge a metadata patch into its device; :attr:`patched` (when set) then announces
        it, ``cause`` being the id of the event or call that asked for it."""
        merged, changed = await self._patch(patch)
        if self.patched is not None:
            await self.patched(patch, changed, cause)
        return merged

    async def _patch(self, patch: MetadataPatch) -> tuple[dict[str, Any], bool]:
        changed = False
        async with self._lock:
            if self._stale:
                await self._load(repair=False)
            merged = self.facts.apply_patch(patch)
            row = {"id": patch.device_id, "device": patch.device_id, "payload": json.dumps(merged)}
            await writer.delete_nodes(self.store, "Patch", [patch.device_id])
            await writer.create_nodes(self.store, "Patch", [row])
            # A patch changes one device record: that row is all the graph writes.
            try:
                d = self._change(self.live.update({}, patched=[patch.device_id]))
                if d.writes():
                    await apply_diff(self.store, d)
                    self._behind = None
                    await self._advance(d)
                    changed = True
            except Exception:
                self._stale = True
                raise
            log.info("patch.applied", device=patch.device_id, source=str(patch.source))
            return merged, changed

    async def _advance(self, d: GraphDiff | None = None) -> None:
        """Move the revision, here and in the store (the last write of a change), then tell
        :attr:`applied` what changed."""
        self.revision += 1
        await write_revision(self.store, self.revision)
        for listener in self.applied:
            listener(self.revision, d)

    def _restore(self, saved: dict[FactKey, tuple[Any, Any, Any]]) -> None:
        for key, (facts, origin, seen) in saved.items():
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
        self, changed: list[FactKey], removed: list[FactKey], deflated: dict[FactKey, bytes]
    ) -> None:
        """The changed sets' payloads (deflated with the journal's digest), in batches."""
        ids = [f"{d}|{k}" for d, k in changed + removed]
        if ids:
            await writer.delete_nodes(self.store, "FactSet", ids)
        for start in range(0, len(changed), _FACT_SET_BATCH):
            rows = [
                {
                    "id": f"{device}|{kind}",
                    "device": device,
                    "kind": kind,
                    "snapshot_id": self.facts.origin[(device, kind)],
                    "collected_at": self.facts.seen[(device, kind)],
                    "payload": payload_of(deflated[(device, kind)]),
                }
                for device, kind in changed[start : start + _FACT_SET_BATCH]
            ]
            await writer.create_nodes(self.store, "FactSet", rows)

    def _result(self, snapshot: SnapshotFacts, d: GraphDiff, started: float) -> ApplyResult:
        added, removed, updated = d.summary()
        return ApplyResult(
            snapshot_id=snapshot.snapshot_id,
            added=added,
            removed=removed,
            updated=updated,
            empty=d.empty,
            elapsed_ms=round((time.monotonic() - started) * 1000, 1),
            scope_devices=sorted(snapshot.scope),
        )

    async def _hold(self, name: str) -> None:
        """A failpoint (tests only): hold the apply here until the process is killed."""
        if self._failpoint(name):
            log.warning("failpoint.hit", failpoint=name)
            await asyncio.Event().wait()

    def _record_row(self, snapshot: SnapshotFacts, result: ApplyResult) -> dict[str, Any]:
        return {
            "id": snapshot.snapshot_id,
            "source": snapshot.source,
            "collected_at": snapshot.collected_iso,
            "applied_at": datetime.now(UTC).isoformat(),
            "scope_devices": len(result.scope_devices),
            "summary": json.dumps(
                {
                    "added": result.added,
                    "removed": result.removed,
                    "updated": result.updated,
                    "empty": result.empty,
                    "counts": snapshot.counts,
                },
                sort_keys=True,
            ),
        }

    async def _record(
        self, snapshot: SnapshotFacts, result: ApplyResult, row: dict[str, Any]
    ) -> None:
        """Write the snapshot's record; a re-apply that changed nothing (a redelivery, the same
        snapshot again) keeps the record the snapshot already has."""
        if result.empty:
            found = await self.store.execute(
                "MATCH (s:Snapshot) WHERE s.id = $id RETURN s.id AS id",
                {"id": snapshot.snapshot_id},
            )
            if found:
                return
        await self._write_record(row)

    async def _write_record(self, row: dict[str, Any]) -> None:
        await writer.delete_nodes(self.store, "Snapshot", [row["id"]])
        await writer.create_nodes(self.store, "Snapshot", [row])


def _managed(rows: Sequence[Any]) -> int:
    """1 where a device's record set says it was collected (as ``managed_count`` counts)."""
    return 1 if rows and rows[-1].managed else 0


def _recovered(record: dict[str, Any], *, incomplete: bool) -> dict[str, Any]:
    """A journalled record as a restart writes it: applied now, marked recovered."""
    summary = json.loads(record.get("summary") or "{}")
    summary["recovered"] = True
    if incomplete:
        summary["incomplete"] = True
    return {
        **record,
        "applied_at": datetime.now(UTC).isoformat(),
        "summary": json.dumps(summary, sort_keys=True),
    }
