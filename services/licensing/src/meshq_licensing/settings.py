"""Licensing agent settings."""

from meshq_runtime.settings import KafkaSettings, PostgresSettings, ServiceSettings
from pydantic import Field

__all__ = ["Settings"]


class Settings(ServiceSettings, KafkaSettings, PostgresSettings):
    port: int = Field(8002, alias="MESHQ_LICENSING_PORT")
