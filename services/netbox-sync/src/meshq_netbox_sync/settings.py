"""NetBox sync settings."""

from typing import Literal

from meshq_runtime.settings import KafkaSettings, ServiceSettings
from pydantic import Field, SecretStr

__all__ = ["Settings"]


class Settings(ServiceSettings, KafkaSettings):
    port: int = Field(8005, alias="MESHQ_NETBOX_SYNC_PORT")
    netbox_url: str | None = Field(None, alias="NETBOX_URL")
    netbox_token: SecretStr | None = Field(None, alias="NETBOX_TOKEN")
    direction: Literal["push", "pull", "both"] = Field("both", alias="NETBOX_SYNC_DIRECTION")
