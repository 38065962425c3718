"""Graph engine settings."""

from typing import Literal

from meshq_runtime.audit_confirm import AuditReceiptSettings
from meshq_runtime.settings import (
    GraphSettings,
    KafkaSettings,
    LicenseClientSettings,
    ServiceSettings,
)
from pydantic import Field

__all__ = ["Settings"]


class Settings(
    ServiceSettings, KafkaSettings, GraphSettings, LicenseClientSettings, AuditReceiptSettings
):
    port: int = Field(8001, alias="MESHQ_GRAPH_ENGINE_PORT")
    role: Literal["writer", "reader"] = Field(
        "writer",
        alias="MESHQ_GRAPH_ENGINE_ROLE",
        description="writer: applies snapshots (one per installation); reader: answers queries "
        "from the writer's Memgraph (as many as the load needs).",
    )
    writer_url: str = Field(
        "",
        alias="MESHQ_GRAPH_ENGINE_WRITER_URL",
        description="A reader's way to the writer, for writes and archived snapshot diffs.",
    )
    refresh_interval: float = Field(
        30.0,
        gt=0,
        alias="MESHQ_GRAPH_ENGINE_REFRESH_INTERVAL",
        description="How often a reader re-reads the graph revision besides topology events.",
    )
