"""Snapshots as they arrived (gzip JSON under the data directory), and chunk reassembly.

The archive lets a user ask what changed between any two snapshots, and lets graph-engine
finish, at its next start, an apply that a crash cut short (the engine archives a snapshot
before it writes any of its facts). Chunks of a snapshot too large for one Kafka message are
written to disk before their offsets are committed, and kept until the snapshot is applied
(:meth:`SnapshotArchive.drop_chunks`), so a restart in the middle of a large snapshot, or of
its apply, loses nothing: the last chunk, delivered again, finds all the others.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from network_discovery.contracts.events import SnapshotChunkData
from network_discovery.model import Snapshot

__all__ = ["ChunkError", "SnapshotArchive", "snapshot_diff"]

_SAFE = re.compile(r"[^A-Za-z0-9._@-]")


class ChunkError(ValueError):
    """Chunks that do not add up to the snapshot they claim to be."""


def _safe(name: str) -> str:
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    return f"{_SAFE.sub('_', name)[:80]}-{digest}"


class SnapshotArchive:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.snapshots = root / "snapshots"
        self.chunks = root / "chunks"
        self.snapshots.mkdir(parents=True, exist_ok=True)
        self.chunks.mkdir(parents=True, exist_ok=True)

    def save(self, snapshot: Snapshot) -> None:
        path = self.snapshots / f"{_safe(snapshot.snapshot_id)}.json.gz"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(gzip.compress(snapshot.model_dump_json().encode(), compresslevel=5))
        tmp.replace(path)

    def save_json(self, snapshot_id: str, chunks: Iterable[bytes]) -> None:
        """Keep a snapshot given as its JSON, piece by piece (never whole in memory)."""
        path = self.snapshots / f"{_safe(snapshot_id)}.json.gz"
        tmp = path.with_suffix(".tmp")
        with gzip.open(tmp, "wb", compresslevel=5) as fh:
            for chunk in chunks:
                fh.write(chunk)
        tmp.replace(path)

    def load(self, snapshot_id: str) -> Snapshot | None:
        path = self.snapshots / f"{_safe(snapshot_id)}.json.gz"
        if not path.exists():
            return None
        return Snapshot.model_validate_json(gzip.decompress(path.read_bytes()))

    def _chunk_folder(self, chunk: SnapshotChunkData) -> Path:
        return self.chunks / _safe(f"{chunk.snapshot_id}-{chunk.sha256}")

    def add_chunk(self, chunk: SnapshotChunkData) -> bytes | None:
        """Keep one chunk; when all have arrived, return the whole snapshot JSON. The chunks
        stay on disk until :meth:`drop_chunks` (once the snapshot is applied or refused)."""
        if chunk.index >= chunk.count:
            raise ChunkError(f"chunk {chunk.index} of {chunk.count} is out of range")
        folder = self._chunk_folder(chunk)
        folder.mkdir(exist_ok=True)
        part = folder / f"{chunk.index:06d}"
        tmp = part.with_suffix(".tmp")
        tmp.write_bytes(base64.b64decode(chunk.content, validate=True))
        tmp.replace(part)
        parts = sorted(p for p in folder.iterdir() if p.suffix != ".tmp")
        if len(parts) < chunk.count:
            return None
        whole = b"".join(p.read_bytes() for p in parts[: chunk.count])
        if hashlib.sha256(whole).hexdigest() != chunk.sha256:
            shutil.rmtree(folder, ignore_errors=True)
            raise ChunkError(f"snapshot {chunk.snapshot_id}: reassembled chunks fail their SHA-256")
        return whole

    def drop_chunks(self, chunk: SnapshotChunkData) -> None:
        """Forget the chunks of a snapshot that has been applied (or refused)."""
        shutil.rmtree(self._chunk_folder(chunk), ignore_errors=True)


def snapshot_diff(a: Snapshot, b: Snapshot) -> dict[str, Any]:
    """What differs from snapshot ``a`` to ``b``: facts added, removed or changed, per kind."""
    out: dict[str, Any] = {"from": a.snapshot_id, "to": b.snapshot_id, "kinds": {}}
    for kind, facts in b.facts_by_kind().items():
        before = {f.id: f.model_dump(mode="json") for f in getattr(a, kind)}
        after = {f.id: f.model_dump(mode="json") for f in facts}
        added = sorted(after.keys() - before.keys())
        removed = sorted(before.keys() - after.keys())
        changed = sorted(k for k in after.keys() & before.keys() if after[k] != before[k])
        if added or removed or changed:
            out["kinds"][kind] = {"added": added, "removed": removed, "changed": changed}
    out["empty"] = not out["kinds"]
    return out
