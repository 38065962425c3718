"""The graph model and the snapshot format (placeholder, replaced by the full model)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MetadataPatch", "Snapshot"]


class Snapshot(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    snapshot_id: str
    source: str
    devices: list[dict[str, Any]] = Field(default_factory=list)


class MetadataPatch(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    hostname: str
    fields: dict[str, Any] = Field(default_factory=dict)
