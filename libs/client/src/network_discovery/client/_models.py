"""The typed answers of the REST API that clients act on."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "NetboxSyncReceipt",
    "PatchReceipt",
    "ReplayCounts",
    "SnapshotReceipt",
    "SnapshotResult",
    "SnapshotStatus",
]


class _Answer(BaseModel):
    # members the server adds later are ignored, so that an older client keeps working
    model_config = ConfigDict(frozen=True, extra="ignore")


class SnapshotReceipt(_Answer):
    """``POST /snapshots`` answered 202: the snapshot was taken in and is being applied."""

    snapshot_id: str
    status: Literal["accepted"] = "accepted"
    #: Where its outcome is read: ``GET /snapshots/{snapshot_id}``.
    location: str


class SnapshotResult(_Answer):
    """What an applied snapshot changed: counts of facts per kind."""

    scope_devices: int = 0
    added: dict[str, int] = Field(default_factory=dict)
    removed: dict[str, int] = Field(default_factory=dict)
    updated: dict[str, int] = Field(default_factory=dict)
    empty: bool = False


class SnapshotStatus(_Answer):
    """``GET /snapshots/{id}``: accepted (still being applied), applied or rejected."""

    snapshot_id: str
    status: Literal["accepted", "applied", "rejected"]
    source: str | None = None
    submitted_at: datetime | None = None
    finished_at: datetime | None = None
    result: SnapshotResult | None = None
    #: Why it was rejected; with a plan limit, the plan and the limit it crossed.
    reason: str | None = None
    plan: str | None = None
    limit: int | None = None

    @property
    def done(self) -> bool:
        return self.status != "accepted"


class PatchReceipt(_Answer):
    """``POST /snapshots/patches`` answered 202: every patch is queued for the graph."""

    accepted: int
    patch_ids: list[str] = Field(default_factory=list)


class ReplayCounts(_Answer):
    """``POST /soar/replay``: what a replay of the dead-lettered webhooks did."""

    replayed: int
    delivered: int
    dead_lettered: int
    skipped: int
    #: Letters found only on the dead-letter topic and taken into the table first.
    imported: int = 0


class NetboxSyncReceipt(_Answer):
    """``POST /netbox/sync`` answered 202: the sync was requested (the NetBox sync service
    runs it; ``GET /sync/status`` of that service shows the run)."""

    requested: bool = True
    direction: Literal["push", "pull", "both"]
    dry_run: bool
    requested_by: str
    event_id: str
    correlation_id: str
