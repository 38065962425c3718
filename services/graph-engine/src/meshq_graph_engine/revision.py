"""The graph's revision, kept in the graph store so that query-only replicas can follow it.

The writer moves the revision on every change to the graph (a snapshot applied, a metadata
patch, a repair at start) and stores it as the single ``GraphRevision`` node; a reader reads
it back to know whether what it derived from the graph (the blast-radius topology) is stale.

A revision number alone does not name a state of the graph once its store is replaced (a new
store counts from 0 again), so answers and ``topology.changed`` also carry the time the writer
moved to it (:class:`RevisionStamps`): the gateway caches answers under both.
"""

from __future__ import annotations

from datetime import UTC, datetime

from meshq_runtime.graph import writer
from meshq_runtime.graph.store import GraphStore

__all__ = ["RevisionStamps", "read_revision", "read_stamp", "write_revision"]

_ID = "graph"
_READ = "MATCH (r:GraphRevision) WHERE r.id = $id RETURN r.value AS value"
_READ_STAMP = (
    "MATCH (r:GraphRevision) WHERE r.id = $id RETURN r.value AS value, r.changed_at AS changed_at"
)


async def read_revision(store: GraphStore) -> int:
    """The stored revision; 0 for a graph no writer has changed yet."""
    rows = await store.execute(_READ, {"id": _ID})
    return int(rows[0]["value"]) if rows and rows[0]["value"] is not None else 0


async def write_revision(store: GraphStore, value: int) -> None:
    row = {"id": _ID, "value": value, "changed_at": datetime.now(UTC).isoformat()}
    await writer.delete_nodes(store, "GraphRevision", [_ID])
    await writer.create_nodes(store, "GraphRevision", [row])


async def read_stamp(store: GraphStore) -> tuple[int, str] | None:
    """The stored revision and when the writer moved to it; None for a graph no writer has
    changed yet."""
    rows = await store.execute(_READ_STAMP, {"id": _ID})
    if not rows or rows[0]["value"] is None or not rows[0]["changed_at"]:
        return None
    return int(rows[0]["value"]), str(rows[0]["changed_at"])


class RevisionStamps:
    """The stamp of the revision a process stands at, read from the store once per revision."""

    def __init__(self) -> None:
        self._last: tuple[int, str] | None = None

    async def of(self, store: GraphStore, revision: int | None) -> tuple[int, str] | None:
        """``(revision, changed_at)``, or None when the store does not hold that revision (a
        change is being written, or none was ever made)."""
        last = self._last
        if revision is None or revision <= 0:
            return None
        if last is not None and last[0] == revision:
            return last
        stamp = await read_stamp(store)
        if stamp is None or stamp[0] != revision:
            return None
        self._last = stamp
        return stamp
