"""A snapshot applied, then the engine's incremental projection and what it stored checked
against the whole graph projected at once from the same facts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from meshq_graph_engine.diff import read_projection
from meshq_graph_engine.engine import GraphEngine
from meshq_graph_engine.projection import project
from network_discovery.model import Snapshot

__all__ = ["T0", "apply_and_check", "scoped_snapshot"]

#: When the first snapshot of a test is collected.
T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def scoped_snapshot(sid: str, minutes: int, scope: dict[str, list[str]], **lists: Any) -> Snapshot:
    """A snapshot collected ``minutes`` after :data:`T0` that replaces the fact kinds ``scope``
    names per device, with the fact ``lists`` given."""
    return Snapshot.model_validate(
        {
            "snapshot_id": sid,
            "source": "test",
            "collected_at": (T0 + timedelta(minutes=minutes)).isoformat(),
            "scope": [{"device": d, "facts": kinds} for d, kinds in scope.items()],
            **lists,
        }
    )


async def apply_and_check(
    engine: GraphEngine, snapshot: Snapshot, labels: Iterable[str], rels: Iterable[str]
) -> None:
    """Apply ``snapshot``; the nodes of ``labels`` and relationships of ``rels`` held in
    memory and read back from the store are those of the whole projection."""
    await engine.apply_snapshot(snapshot)
    whole = project(engine.facts)
    stored = await read_projection(engine.store)
    for label in labels:
        assert dict(engine.projection.nodes[label]) == dict(whole.nodes[label]), label
        assert dict(stored.nodes[label]) == dict(whole.nodes[label]), label
    for rel in rels:
        assert dict(engine.projection.rels[rel]) == dict(whole.rels[rel]), rel
        assert dict(stored.rels[rel]) == dict(whole.rels[rel]), rel
