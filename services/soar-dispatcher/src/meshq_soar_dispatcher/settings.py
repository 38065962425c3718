"""SOAR dispatcher settings."""

from meshq_runtime.settings import KafkaSettings, ServiceSettings
from pydantic import Field, SecretStr

__all__ = ["Settings"]


class Settings(ServiceSettings, KafkaSettings):
    port: int = Field(8004, alias="MESHQ_SOAR_DISPATCHER_PORT")
    webhook_url: str | None = Field(None, alias="SOAR_WEBHOOK_URL")
    webhook_token: SecretStr | None = Field(None, alias="SOAR_WEBHOOK_TOKEN")
    rules: str = Field("[]", alias="SOAR_RULES", description="JSON list of SOAR rules.")
