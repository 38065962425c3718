"""Graph engine settings."""

from meshq_runtime.settings import (
    GraphSettings,
    KafkaSettings,
    LicenseClientSettings,
    ServiceSettings,
)
from pydantic import Field

__all__ = ["Settings"]


class Settings(ServiceSettings, KafkaSettings, GraphSettings, LicenseClientSettings):
    port: int = Field(8001, alias="MESHQ_GRAPH_ENGINE_PORT")
