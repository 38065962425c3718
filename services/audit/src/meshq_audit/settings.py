"""Audit settings."""

from meshq_runtime.settings import KafkaSettings, PostgresSettings, ServiceSettings
from pydantic import Field

__all__ = ["Settings"]


class Settings(ServiceSettings, KafkaSettings, PostgresSettings):
    port: int = Field(8003, alias="MESHQ_AUDIT_PORT")
