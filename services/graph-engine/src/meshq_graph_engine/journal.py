"""The apply journal: what a restart needs to finish a snapshot that a crash interrupted.

Applying a snapshot writes, in order: the snapshot to the archive, a ``SnapshotApply`` node
(this journal: the Snapshot record to write, the fact keys the snapshot decides and a digest
of their content), the fact sets, the projection, the ``Snapshot`` record, and last it deletes
the journal node. A process killed anywhere in between leaves the journal node behind, and the
next start (after the usual repair of the projection from the fact sets) finishes it:

- the fact sets in the store match the digest: every fact of the snapshot was written, so the
  repaired graph holds the snapshot; its record is written from the journal;
- they do not (the process died before or while writing them): the snapshot is applied again
  from the archive, then recorded;
- they do not and the archive has lost it: if they are still what they were before the apply,
  nothing of the snapshot reached the graph and no record is written (a warning says to ingest
  it again); if they are partly written, the record is written marked ``incomplete``, so the
  registry still lists what the graph holds, and an error says to ingest it again.

Either way the registry (``GET /snapshots``) and the graph agree after any crash. A record
written by a restart carries ``recovered: true``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from meshq_runtime.graph import writer
from meshq_runtime.graph.store import GraphStore

from meshq_graph_engine.facts import FactKey, FactRow, FactSets, deflate, set_bytes

__all__ = ["PendingApply", "facts_digest", "finish", "packed_sets", "pending", "start"]

LABEL = "SnapshotApply"


@dataclass(frozen=True)
class PendingApply:
    snapshot_id: str
    started_at: str
    record: dict[str, Any]  # the Snapshot row to write
    keys: list[FactKey]
    digest: str  # of the snapshot's fact sets
    before: str  # of the same fact sets before the apply


def _feed(digest: Any, key: FactKey, data: bytes) -> None:
    digest.update(f"{json.dumps(list(key))}\n".encode())
    digest.update(data)
    digest.update(b"\n")


def facts_digest(keys: Iterable[FactKey], facts: Mapping[FactKey, Sequence[FactRow]]) -> str:
    """The content the fact sets of ``keys`` have (an absent set counts as empty), hashed
    one set at a time (its :func:`~meshq_graph_engine.facts.set_bytes`)."""
    digest = hashlib.sha256()
    held = facts.set_bytes if isinstance(facts, FactSets) else None  # packed: not decoded
    for key in sorted(keys):
        _feed(digest, key, held(key) if held is not None else set_bytes(facts.get(key) or ()))
    return digest.hexdigest()


def packed_sets(
    grouped: Mapping[FactKey, Sequence[FactRow]], wanted: Iterable[FactKey]
) -> tuple[str, dict[FactKey, bytes]]:
    """:func:`facts_digest` of ``grouped``, and the ``wanted`` sets among them deflated
    (:func:`~meshq_graph_engine.facts.deflate`: what their payloads and the sets held in
    memory keep), from one encoding of each set (the digest and the payload hash and keep
    the same text)."""
    want = set(wanted)
    digest = hashlib.sha256()
    deflated: dict[FactKey, bytes] = {}
    for key in sorted(grouped):
        data = set_bytes(grouped[key] or ())
        _feed(digest, key, data)
        if key in want:
            deflated[key] = deflate(data)
    return digest.hexdigest(), deflated


async def start(
    store: GraphStore,
    record: dict[str, Any],
    grouped: Mapping[FactKey, Sequence[FactRow]],
    before: str,
    *,
    digest: str,
) -> None:
    """Journal an apply before its first fact is written; ``digest``: that of ``grouped``
    (:func:`packed_sets`); ``before``: that of the same fact sets as the store holds them
    now."""
    keys = sorted(grouped)
    row = {
        "id": record["id"],
        "started_at": datetime.now(UTC).isoformat(),
        "record": json.dumps(record, sort_keys=True),
        "keys": json.dumps(keys),
        "digest": digest,
        "before": before,
    }
    await writer.delete_nodes(store, LABEL, [record["id"]])
    await writer.create_nodes(store, LABEL, [row])


async def finish(store: GraphStore, snapshot_id: str) -> None:
    """The apply is recorded: forget it."""
    await writer.delete_nodes(store, LABEL, [snapshot_id])


async def pending(store: GraphStore) -> list[PendingApply]:
    """Applies a crash interrupted, oldest first."""
    rows = (await writer.read_nodes(store, LABEL)).values()
    out = [
        PendingApply(
            snapshot_id=row["id"],
            started_at=row["started_at"] or "",
            record=json.loads(row["record"] or "{}"),
            keys=[(str(d), str(k)) for d, k in json.loads(row["keys"] or "[]")],
            digest=row["digest"] or "",
            before=row["before"] or "",
        )
        for row in rows
    ]
    return sorted(out, key=lambda p: p.started_at)
