"""MCP bridge settings."""

from meshq_runtime.settings import ServiceSettings
from pydantic import Field, SecretStr

__all__ = ["Settings"]


class Settings(ServiceSettings):
    port: int = Field(8006, alias="MESHQ_MCP_PORT")
    api_url: str = Field("http://127.0.0.1:8000", alias="MESHOPTIXIQ_API_URL")
    api_key: SecretStr | None = Field(None, alias="MESHOPTIXIQ_API_KEY")
