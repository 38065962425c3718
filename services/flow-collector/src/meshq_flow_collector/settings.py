"""Flow collector settings."""

from meshq_runtime.settings import KafkaSettings, ServiceSettings
from pydantic import Field

__all__ = ["Settings"]


class Settings(ServiceSettings, KafkaSettings):
    port: int = Field(8009, alias="MESHQ_FLOW_COLLECTOR_PORT")
    listen_host: str = Field(
        "0.0.0.0",  # noqa: S104 - exporters send from the network
        alias="MESHQ_FLOWS_LISTEN_HOST",
        description="The address the UDP listeners bind (exporters send to it).",
    )
    netflow_port: int = Field(
        2055,
        ge=0,
        le=65535,
        alias="MESHQ_FLOWS_NETFLOW_PORT",
        description="UDP port for NetFlow v5/v9 (every protocol is decoded on every port); 0: off.",
    )
    ipfix_port: int = Field(
        4739,
        ge=0,
        le=65535,
        alias="MESHQ_FLOWS_IPFIX_PORT",
        description="UDP port for IPFIX (RFC 7011's default); 0: off.",
    )
    sflow_port: int = Field(
        6343,
        ge=0,
        le=65535,
        alias="MESHQ_FLOWS_SFLOW_PORT",
        description="UDP port for sFlow v5 (sFlow's default); 0: off.",
    )
    batch_records: int = Field(
        5000,
        ge=1,
        le=100_000,
        alias="MESHQ_FLOWS_BATCH_RECORDS",
        description="Records per exporter that make a batch (a batch also stays under 768 KiB).",
    )
    flush_s: float = Field(
        1.0,
        gt=0,
        le=60,
        alias="MESHQ_FLOWS_FLUSH_S",
        description="The longest a record waits for its batch to fill.",
    )
    status_s: float = Field(
        10.0,
        gt=0,
        le=3600,
        alias="MESHQ_FLOWS_STATUS_S",
        description="How often each active exporter's counters are published.",
    )
    max_pending_batches: int = Field(
        1000,
        ge=1,
        le=100_000,
        alias="MESHQ_FLOWS_MAX_PENDING",
        description="Batches held while the broker does not take them; beyond, the oldest "
        "are dropped and counted.",
    )
