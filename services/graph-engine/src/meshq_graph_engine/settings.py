"""Graph engine settings."""

from typing import Literal

from meshq_runtime.audit_confirm import AuditReceiptSettings
from meshq_runtime.settings import (
    GraphSettings,
    KafkaSettings,
    LicenseClientSettings,
    PostgresSettings,
    ServiceSettings,
)
from pydantic import Field

from meshq_graph_engine.intake import DEFAULT_MAX_SNAPSHOT_BYTES

__all__ = ["Settings"]


class Settings(
    ServiceSettings,
    KafkaSettings,
    GraphSettings,
    LicenseClientSettings,
    AuditReceiptSettings,
    PostgresSettings,
):
    """``MESHQ_POSTGRES_URL``, when set, is where the interface metrics the Metrics queries read
    are kept; unset, those queries answer 503 (see :attr:`metrics_configured`)."""

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
    snapshot_max_bytes: int = Field(
        DEFAULT_MAX_SNAPSHOT_BYTES,
        ge=1024,
        alias="MESHQ_SNAPSHOT_MAX_BYTES",
        description="Largest snapshot accepted by POST /snapshots, in bytes of JSON once "
        "decompressed; a larger one is refused with 413 while it streams.",
    )
    intake_concurrency: int = Field(
        2,
        ge=1,
        le=64,
        alias="MESHQ_SNAPSHOT_INTAKE_CONCURRENCY",
        description="Snapshots received at once; a further one waits up to 30 s, then 429.",
    )
    graph_buffer_pool_mb: int | None = Field(
        None,
        ge=256,
        alias="MESHQ_GRAPH_BUFFER_POOL_MB",
        description="Pages of the embedded graph store kept in memory, in MiB; unset: an "
        "eighth of the machine's memory, at least 512 and at most 2048. Every write must fit "
        "in it (a write that does not fails).",
    )
    intake_requeue_after: float = Field(
        120.0,
        ge=5,
        alias="MESHQ_SNAPSHOT_REQUEUE_AFTER",
        description="Seconds an accepted snapshot may wait for its apply before its reference "
        "is published again (the broker may have lost it).",
    )

    compliance_packs_dir: str = Field(
        "",
        alias="MESHQ_COMPLIANCE_PACKS_DIR",
        description="A directory of customer compliance packs (YAML), read beside the "
        "built-in ones at the start of every run (docs/compliance.md).",
    )
    compliance_after_snapshot: bool = Field(
        True,
        alias="MESHQ_COMPLIANCE_AFTER_SNAPSHOT",
        description="Start a compliance run after every applied snapshot (the writer only).",
    )

    @property
    def metrics_configured(self) -> bool:
        """Whether MESHQ_POSTGRES_URL was given (its default is for the services that need
        PostgreSQL; graph-engine opens it only when told to)."""
        given = "postgres_url" in self.model_fields_set
        return given and bool(self.postgres_url.get_secret_value().strip())
