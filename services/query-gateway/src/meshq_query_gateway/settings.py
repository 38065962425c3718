"""Query gateway settings: one environment variable per field (the alias)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from meshq_runtime.settings import (
    KafkaSettings,
    LicenseClientSettings,
    RedisSettings,
    ServiceSettings,
)
from pydantic import Field, SecretStr, field_validator

__all__ = ["DEFAULT_RATE_LIMITS", "Settings", "parse_rate"]

#: Per-identity limits per route, ``"METHOD /path/template" -> "N/second|minute|hour"``.
DEFAULT_RATE_LIMITS: dict[str, str] = {"POST /graph/chaos-simulate": "5/minute"}

_PERIODS = {"second": 1, "minute": 60, "hour": 3600}


def parse_rate(text: str) -> tuple[int, int]:
    """``"5/minute"`` -> ``(5, 60)``; a clear ``ValueError`` otherwise."""
    count, _, period = text.strip().partition("/")
    if not count.strip().isdigit() or int(count) < 1 or period.strip() not in _PERIODS:
        raise ValueError(f"rate {text!r} is not N/second, N/minute or N/hour with N >= 1")
    return int(count), _PERIODS[period.strip()]


class Settings(ServiceSettings, KafkaSettings, RedisSettings, LicenseClientSettings):
    port: int = Field(8000, alias="MESHQ_GATEWAY_PORT")
    api_key: SecretStr | None = Field(
        None, alias="API_KEY", description="The admin API key, sent as X-API-Key."
    )
    graph_engine_url: str = Field("http://127.0.0.1:8001", alias="MESHQ_GRAPH_ENGINE_URL")
    auth_mode: Literal["api_key", "oidc", "both"] = Field("api_key", alias="AUTH_MODE")
    api_keys_file: Path | None = Field(
        None,
        alias="MESHQ_API_KEYS_FILE",
        description="Named keys (meshq apikey); default $MESHQ_DATA_DIR/api_keys.json.",
    )
    rbac_policy_file: Path | None = Field(None, alias="RBAC_POLICY_FILE")
    rbac_reload_interval: float = Field(
        30.0, gt=0, alias="RBAC_RELOAD_INTERVAL", description="Seconds between file checks."
    )
    rate_limits: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_RATE_LIMITS),
        alias="MESHQ_RATE_LIMITS",
        description='JSON object, e.g. {"POST /graph/chaos-simulate": "5/minute"}; '
        "merged over the defaults.",
    )
    catalogue_ttl: float = Field(
        60.0, gt=0, alias="MESHQ_CATALOGUE_TTL", description="Seconds the query list is cached."
    )

    @property
    def keys_path(self) -> Path:
        return self.api_keys_file or self.data_dir / "api_keys.json"

    @field_validator("rate_limits")
    @classmethod
    def _check_rates(cls, value: dict[str, str]) -> dict[str, str]:
        merged = {**DEFAULT_RATE_LIMITS, **value}
        for route, rate in merged.items():
            method, _, path = route.partition(" ")
            if not method.isupper() or not path.startswith("/"):
                raise ValueError(f"rate limit key {route!r} must be 'METHOD /path'")
            parse_rate(rate)
        return merged
