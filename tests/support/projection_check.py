"""A snapshot applied, then the engine's incremental projection and what it stored checked
against the whole graph projected at once from the same facts."""

from __future__ import annotations

from collections.abc import Iterable

from meshq_graph_engine.diff import read_projection
from meshq_graph_engine.engine import GraphEngine
from meshq_graph_engine.projection import project
from network_discovery.model import Snapshot

__all__ = ["apply_and_check"]


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
