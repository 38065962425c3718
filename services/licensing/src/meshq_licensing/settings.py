"""Settings of the two roles: the license agent (every installation) and the license server."""

from __future__ import annotations

from meshq_runtime.settings import (
    KafkaSettings,
    PostgresSettings,
    ServiceAuthSettings,
    ServiceSettings,
)
from pydantic import Field, SecretStr

__all__ = ["ServerSettings", "Settings"]


class Settings(ServiceSettings, KafkaSettings, PostgresSettings, ServiceAuthSettings):
    """The license agent of an installation."""

    port: int = Field(8002, alias="MESHQ_LICENSING_PORT")
    license_key: SecretStr = Field(SecretStr(""), alias="MESHOPTIXIQ_LICENSE_KEY")
    license_url: str = Field("https://api.meshoptixiq.com", alias="MESHOPTIXIQ_LICENSE_URL")
    license_public_key: str = Field(
        "",
        alias="MESHOPTIXIQ_LICENSE_PUBLIC_KEY",
        description="PEM text or a path to a PEM file; default the vendor's key.",
    )
    check_interval_s: float = Field(
        60.0,
        gt=0,
        alias="MESHQ_LICENSE_CHECK_INTERVAL_S",
        description="How often the agent re-evaluates grace (validation itself is every 24 h).",
    )
    retry_interval_s: float = Field(
        900.0,
        gt=0,
        alias="MESHQ_LICENSE_RETRY_INTERVAL_S",
        description="After a failed validation, how long until the next attempt.",
    )
    clock_offset_s: float = Field(
        0.0,
        alias="MESHQ_LICENSE_CLOCK_OFFSET_S",
        description="Tests only: seconds added to the agent's clock.",
    )


class ServerSettings(ServiceSettings, PostgresSettings):
    """The license server (run by the vendor, or self-hosted by an air-gapped customer)."""

    port: int = Field(8010, alias="MESHQ_LICENSE_SERVER_PORT")
    signing_key: SecretStr = Field(
        SecretStr(""),
        alias="MESHQ_LICENSE_SIGNING_KEY",
        description="RSA private key (PEM text or a path to a PEM file) that signs answers.",
    )
    master_key: SecretStr = Field(
        SecretStr(""),
        alias="MESHQ_LICENSE_MASTER_KEY",
        description="Encrypts the per-key HMAC secrets at rest (any long random string).",
    )
    admin_token: SecretStr = Field(SecretStr(""), alias="MESHQ_LICENSE_ADMIN_TOKEN")
    revoked_retention_s: float = Field(
        30 * 24 * 3600.0,
        ge=0,
        alias="MESHQ_LICENSE_REVOKED_RETENTION_S",
        description="How long a revoked key answers 403 before it is purged (then 404).",
    )
    clock_offset_s: float = Field(
        0.0,
        alias="MESHQ_LICENSE_CLOCK_OFFSET_S",
        description="Tests only: seconds added to the server's clock.",
    )
