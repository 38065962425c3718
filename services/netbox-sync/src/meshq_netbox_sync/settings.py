"""NetBox sync settings."""

from pathlib import Path
from typing import Literal

from meshq_runtime.settings import KafkaSettings, LicenseClientSettings, ServiceSettings
from pydantic import Field, SecretStr

__all__ = ["Settings"]


class Settings(ServiceSettings, KafkaSettings, LicenseClientSettings):
    port: int = Field(8005, alias="MESHQ_NETBOX_SYNC_PORT")
    netbox_url: str | None = Field(None, alias="NETBOX_URL")
    netbox_token: SecretStr | None = Field(None, alias="NETBOX_TOKEN")
    direction: Literal["push", "pull", "both"] = Field("both", alias="NETBOX_SYNC_DIRECTION")
    # Scheduled discovery (docs/discovery.md): off unless an interval is set.
    discovery_interval: float = Field(0.0, ge=0, alias="MESHQ_DISCOVERY_INTERVAL")
    discovery_inventory: Path | None = Field(None, alias="MESHQ_DISCOVERY_INVENTORY")
    discovery_concurrency: int = Field(10, ge=1, le=500, alias="MESHQ_DISCOVERY_CONCURRENCY")
    discovery_timeout: float = Field(30.0, gt=0, alias="MESHQ_DISCOVERY_TIMEOUT")
