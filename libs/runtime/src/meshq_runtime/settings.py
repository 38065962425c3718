"""Settings pieces read from the environment, composed by each service.

Each piece is a ``BaseSettings`` whose fields carry the exact environment variable as their
alias, so a service's settings class is the union of the pieces it needs::

    class AuditSettings(ServiceSettings, KafkaSettings, PostgresSettings):
        port: int = Field(8003, alias="MESHQ_AUDIT_PORT")

Nothing is read at import time: build a settings object in ``main()`` or in a test.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from network_discovery.licensing.gates import parse_demo_mode
from pydantic import AliasChoices, BeforeValidator, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from meshq_runtime.service_auth import MIN_TOKEN_CHARS, check_token

__all__ = [
    "DEFAULT_PORTS",
    "GraphSettings",
    "KafkaSecuritySettings",
    "KafkaSettings",
    "LicenseClientSettings",
    "PostgresSettings",
    "RedisSettings",
    "ServiceAuthSettings",
    "ServiceSettings",
    "data_dir_from_env",
    "env_names",
]

#: Port each HTTP service listens on when run alone (``python -m``) or in compose.
DEFAULT_PORTS: dict[str, int] = {
    "gateway": 8000,
    "graph_engine": 8001,
    "licensing": 8002,
    "audit": 8003,
    "soar_dispatcher": 8004,
    "netbox_sync": 8005,
    "mcp": 8006,
}

_CONFIG = SettingsConfigDict(populate_by_name=True, extra="ignore", frozen=True)


class ServiceSettings(BaseSettings):
    """What every service reads: where to listen, how to log, where data lives."""

    model_config = _CONFIG

    host: str = Field("127.0.0.1", alias="MESHQ_HOST", description="Interface to listen on.")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", validation_alias=AliasChoices("MESHQ_LOG_LEVEL", "LOG_LEVEL")
    )
    log_format: Literal["auto", "json", "console"] = Field("auto", alias="MESHQ_LOG_FORMAT")
    data_dir: Path = Field(
        default_factory=lambda: Path.home() / ".meshoptixiq" / "data", alias="MESHQ_DATA_DIR"
    )
    demo_mode: Annotated[bool, BeforeValidator(parse_demo_mode)] = Field(
        False, alias="MESHOPTIXIQ_DEMO_MODE"
    )
    failpoints: str = Field(
        "",
        alias="MESHQ_FAILPOINTS",
        description="Comma-separated fault-injection points, for resilience tests only.",
    )

    if TYPE_CHECKING:
        # every service's settings add the port it listens on, each with its own variable
        port: int

    def failpoint(self, name: str) -> bool:
        return name in {p.strip() for p in self.failpoints.split(",") if p.strip()}


class KafkaSecuritySettings(BaseSettings):
    """Kafka connection security (TLS, SASL), for every client a service opens.

    ``MESHQ_KAFKA_SECURITY_PROTOCOL`` is PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL;
    SASL uses ``MESHQ_KAFKA_SASL_MECHANISM`` (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) with
    ``MESHQ_KAFKA_SASL_USERNAME`` / ``MESHQ_KAFKA_SASL_PASSWORD``; TLS verifies the brokers
    against ``MESHQ_KAFKA_SSL_CAFILE`` or the system store. :mod:`meshq_runtime.kafka.security`
    turns them into the clients' options.
    """

    model_config = _CONFIG

    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", alias="MESHQ_KAFKA_SECURITY_PROTOCOL"
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        "SCRAM-SHA-512", alias="MESHQ_KAFKA_SASL_MECHANISM"
    )
    kafka_sasl_username: str = Field("", alias="MESHQ_KAFKA_SASL_USERNAME")
    kafka_sasl_password: SecretStr = Field(SecretStr(""), alias="MESHQ_KAFKA_SASL_PASSWORD")
    kafka_ssl_cafile: Path | None = Field(
        None,
        alias="MESHQ_KAFKA_SSL_CAFILE",
        description="CA bundle that signed the brokers' certificates; default the system store.",
    )


class KafkaSettings(KafkaSecuritySettings):
    """The broker, topics and groups; TLS/SASL fields come from ``KafkaSecuritySettings``."""

    model_config = _CONFIG

    kafka_bootstrap: str = Field("127.0.0.1:9092", alias="MESHQ_KAFKA_BOOTSTRAP")
    kafka_idempotent: bool = Field(
        True,
        alias="MESHQ_KAFKA_IDEMPOTENT",
        description="Idempotent producer: on for Apache Kafka, off for Tansu (no InitProducerId).",
    )
    kafka_partitions: int = Field(6, ge=1, alias="MESHQ_KAFKA_PARTITIONS")
    kafka_replication: int = Field(1, ge=1, alias="MESHQ_KAFKA_REPLICATION")
    kafka_topic_prefix: str = Field(
        "", alias="MESHQ_KAFKA_TOPIC_PREFIX", description="Prepended to every topic name."
    )
    kafka_group_prefix: str = Field(
        "meshq", alias="MESHQ_KAFKA_GROUP_PREFIX", description="Consumer groups are PREFIX.SERVICE."
    )
    kafka_max_attempts: int = Field(
        3, ge=1, alias="MESHQ_KAFKA_MAX_ATTEMPTS", description="Before a failing event is parked."
    )

    def topic(self, name: str) -> str:
        return f"{self.kafka_topic_prefix}{name}"

    def group(self, service: str) -> str:
        return f"{self.kafka_group_prefix}.{service}"


class PostgresSettings(BaseSettings):
    model_config = _CONFIG

    postgres_url: SecretStr = Field(
        SecretStr("postgresql://postgres@127.0.0.1:5432/meshq"), alias="MESHQ_POSTGRES_URL"
    )


class RedisSettings(BaseSettings):
    model_config = _CONFIG

    redis_url: SecretStr = Field(SecretStr("redis://127.0.0.1:6379/0"), alias="MESHQ_REDIS_URL")


class GraphSettings(BaseSettings):
    model_config = _CONFIG

    memgraph_uri: str | None = Field(None, alias="MEMGRAPH_URI")
    memgraph_user: str = Field("", alias="MEMGRAPH_USER")
    memgraph_password: SecretStr = Field(SecretStr(""), alias="MEMGRAPH_PASSWORD")
    graph_path: Path | None = Field(
        None,
        alias="MESHQ_GRAPH_PATH",
        description="Embedded graph directory; default $MESHQ_DATA_DIR/graph.",
    )


class ServiceAuthSettings(BaseSettings):
    """The installation's service credential, which internal HTTP calls carry both ways
    (``meshq_runtime.service_auth``)."""

    model_config = _CONFIG

    service_token: SecretStr | None = Field(
        None,
        alias="MESHQ_SERVICE_TOKEN",
        description="Shared by every service of one installation (at least "
        f"{MIN_TOKEN_CHARS} characters); unset: $MESHQ_DATA_DIR/run/service_token, created "
        "once.",
    )

    @field_validator("service_token")
    @classmethod
    def _check_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        check_token(value.get_secret_value().strip())
        return SecretStr(value.get_secret_value().strip())


class LicenseClientSettings(ServiceAuthSettings):
    """Where a service finds the license agent (``GET /license`` at start), and the
    credential its internal calls carry."""

    model_config = _CONFIG

    licensing_url: str = Field("http://127.0.0.1:8002", alias="MESHQ_LICENSING_URL")
    license_public_key: str | None = Field(
        None,
        alias="MESHOPTIXIQ_LICENSE_PUBLIC_KEY",
        description="The license server's public key (PEM text or a file) that signed "
        "answers are verified with; unset: the vendor's.",
    )


def env_names(settings_cls: type[BaseSettings]) -> set[str]:
    """Every environment variable a settings class reads (for docs and the compose test)."""
    names: set[str] = set()
    for name, field in settings_cls.model_fields.items():
        va = field.validation_alias
        if isinstance(va, AliasChoices):
            names.update(str(c) for c in va.choices)
        elif isinstance(va, str):
            names.add(va)
        elif field.alias:
            names.add(field.alias)
        else:
            names.add(name.upper())
    return names


def data_dir_from_env() -> Path:
    return ServiceSettings().data_dir
