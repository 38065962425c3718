"""Query gateway settings."""

from meshq_runtime.settings import KafkaSettings, RedisSettings, ServiceSettings
from pydantic import Field, SecretStr

__all__ = ["Settings"]


class Settings(ServiceSettings, KafkaSettings, RedisSettings):
    port: int = Field(8000, alias="MESHQ_GATEWAY_PORT")
    api_key: SecretStr | None = Field(
        None, alias="API_KEY", description="The admin API key, sent as X-API-Key."
    )
    graph_engine_url: str = Field("http://127.0.0.1:8001", alias="MESHQ_GRAPH_ENGINE_URL")
