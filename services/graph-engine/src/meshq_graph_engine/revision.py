"""The graph's revision, kept in the graph store so that query-only replicas can follow it.

The writer moves the revision on every change to the graph (a snapshot applied, a metadata
patch, a repair at start) and stores it as the single ``GraphRevision`` node; a reader reads
it back to know whether what it derived from the graph (the blast-radius topology) is stale.
"""

from __future__ import annotations

from datetime import UTC, datetime

from meshq_runtime.graph import writer
from meshq_runtime.graph.store import GraphStore

__all__ = ["read_revision", "write_revision"]

_ID = "graph"
_READ = "MATCH (r:GraphRevision) WHERE r.id = $id RETURN r.value AS value"


async def read_revision(store: GraphStore) -> int:
    """The stored revision; 0 for a graph no writer has changed yet."""
    rows = await store.execute(_READ, {"id": _ID})
    return int(rows[0]["value"]) if rows and rows[0]["value"] is not None else 0


async def write_revision(store: GraphStore, value: int) -> None:
    row = {"id": _ID, "value": value, "changed_at": datetime.now(UTC).isoformat()}
    await writer.delete_nodes(store, "GraphRevision", [_ID])
    await writer.create_nodes(store, "GraphRevision", [row])
