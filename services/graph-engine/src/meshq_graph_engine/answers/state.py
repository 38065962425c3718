"""Where the maintained answers record what they are up to date with.

One ``AnswerState`` node per maintained answer (``ip-index``, ``summary``): the format of its
tables (a new format is rebuilt, never read), the graph-engine version that built it (a new
version may project differently, so it rebuilds too), a status (``ok``, or ``stale`` when a
start found an apply that a crash cut short) and the graph revision it counts for.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from datetime import UTC, datetime

from meshq_runtime.graph.store import GraphStore

__all__ = ["AnswerState", "engine_version", "read_state", "write_state"]

_READ = (
    "MATCH (s:AnswerState) WHERE s.id = $id "
    "RETURN s.format AS format, s.version AS version, s.status AS status, "
    "s.revision AS revision"
)
_DELETE = "MATCH (s:AnswerState) WHERE s.id = $id DELETE s"
_CREATE = (
    "CREATE (s:AnswerState {id: $id, format: $format, version: $version, status: $status, "
    "revision: $revision, updated_at: $updated_at})"
)


def engine_version() -> str:
    try:
        return importlib.metadata.version("meshq-graph-engine")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run from a checkout
        return "unknown"


@dataclass(frozen=True)
class AnswerState:
    format: int
    version: str
    status: str
    revision: int

    def usable(self, fmt: int) -> bool:
        """Whether readers may answer from it (a writer also checks the version)."""
        return self.format == fmt and self.status == "ok"

    def current(self, fmt: int) -> bool:
        """Whether the writer may keep it up to date rather than build it again."""
        return self.usable(fmt) and self.version == engine_version()


async def read_state(store: GraphStore, name: str) -> AnswerState | None:
    rows = await store.execute(_READ, {"id": name})
    if not rows or rows[0]["format"] is None:
        return None
    row = rows[0]
    return AnswerState(
        format=int(row["format"]),
        version=str(row["version"] or ""),
        status=str(row["status"] or ""),
        revision=int(row["revision"] or 0),
    )


async def write_state(
    store: GraphStore, name: str, fmt: int, *, status: str = "ok", revision: int = 0
) -> None:
    await store.execute(_DELETE, {"id": name})
    await store.execute(
        _CREATE,
        {
            "id": name,
            "format": fmt,
            "version": engine_version(),
            "status": status,
            "revision": revision,
            "updated_at": datetime.now(UTC).isoformat(),
        },
    )
