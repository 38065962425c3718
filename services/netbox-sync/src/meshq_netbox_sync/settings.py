"""NetBox sync settings."""

from pathlib import Path
from typing import Literal

from meshq_runtime.settings import KafkaSettings, LicenseClientSettings, ServiceSettings
from pydantic import Field, SecretStr, field_validator

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
    overwrite: str = Field(
        "",
        alias="NETBOX_SYNC_OVERWRITE",
        description="Push: fields (comma-separated, as --overwrite names them) replaced on "
        "objects the sync did not create; others are filled only when empty.",
    )
    timeout: float = Field(
        30.0, gt=0, alias="NETBOX_TIMEOUT", description="Seconds one NetBox request may take."
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

    @field_validator("overwrite")
    @classmethod
    def _known_fields(cls, value: str) -> str:
        from network_discovery.integrations.netbox import OVERWRITABLE

        fields = [f.strip() for f in value.split(",") if f.strip()]
        unknown = sorted(set(fields) - set(OVERWRITABLE))
        if unknown:
            raise ValueError(
                f"unknown field(s) {', '.join(unknown)}; choose from {', '.join(OVERWRITABLE)}"
            )
        return ",".join(dict.fromkeys(fields))

    @property
    def overwrite_fields(self) -> tuple[str, ...]:
        return tuple(f for f in self.overwrite.split(",") if f)
