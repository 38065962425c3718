"""NetBox sync settings."""

from pathlib import Path
from typing import Literal

from meshq_runtime.settings import KafkaSettings, LicenseClientSettings, ServiceSettings
from pydantic import Field, SecretStr

__all__ = ["Settings"]


class Settings(ServiceSettings, KafkaSettings, LicenseClientSettings):
    port: int = Field(8005, alias="MESHQ_NETBOX_SYNC_PORT")
    netbox_url: str | None = Field(None, alias="NETBOX_URL", description="https://netbox...")
    netbox_token: SecretStr | None = Field(None, alias="NETBOX_TOKEN")
    direction: Literal["push", "pull", "both"] = Field(
        "pull",
        alias="NETBOX_SYNC_DIRECTION",
        description="What the periodic sync does; pull never writes to NetBox.",
    )
    interval_s: float = Field(
        3600.0,
        ge=0,
        alias="NETBOX_SYNC_INTERVAL",
        description="Seconds between periodic syncs (the first at start); 0 turns them off.",
    )
    prune: bool = Field(
        False,
        alias="NETBOX_SYNC_PRUNE",
        description="Push: delete NetBox objects the sync created that discovery lost.",
    )
    tag: str = Field("meshoptixiq", alias="NETBOX_SYNC_TAG", min_length=1, max_length=100)
    default_site: str = Field("MeshOptixIQ discovered", alias="NETBOX_DEFAULT_SITE")
    default_role: str = Field("Discovered", alias="NETBOX_DEFAULT_ROLE")
    default_manufacturer: str = Field("Unknown", alias="NETBOX_DEFAULT_MANUFACTURER")
    default_device_type: str = Field("Unknown", alias="NETBOX_DEFAULT_DEVICE_TYPE")
    graph_engine_url: str = Field("http://127.0.0.1:8001", alias="MESHQ_GRAPH_ENGINE_URL")
    # Scheduled discovery (docs/discovery.md): off unless an interval is set.
    discovery_interval: float = Field(0.0, ge=0, alias="MESHQ_DISCOVERY_INTERVAL")
    discovery_inventory: Path | None = Field(None, alias="MESHQ_DISCOVERY_INVENTORY")
    discovery_concurrency: int = Field(10, ge=1, le=500, alias="MESHQ_DISCOVERY_CONCURRENCY")
    discovery_timeout: float = Field(30.0, gt=0, alias="MESHQ_DISCOVERY_TIMEOUT")
