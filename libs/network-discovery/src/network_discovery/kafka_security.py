"""Kafka connection security (TLS, SASL) read from ``MESHQ_KAFKA_*``, for every client.

``MESHQ_KAFKA_SECURITY_PROTOCOL`` is PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL;
SASL uses ``MESHQ_KAFKA_SASL_MECHANISM`` (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) with
``MESHQ_KAFKA_SASL_USERNAME`` / ``MESHQ_KAFKA_SASL_PASSWORD``; TLS verifies the brokers
against ``MESHQ_KAFKA_SSL_CAFILE`` or the system store.

The services' ``KafkaSettings`` (``meshq_runtime.settings``) extend these settings, and the CLI
publisher (``meshq ingest``, ``meshq discover``, ``meshq sync``) reads them on their own, so a
command run against a secured cluster connects the way the services do.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["KafkaSecuritySettings", "check_security", "client_options", "ssl_context"]


class KafkaSecuritySettings(BaseSettings):
    model_config = SettingsConfigDict(populate_by_name=True, extra="ignore", frozen=True)

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


def ssl_context(settings: KafkaSecuritySettings) -> ssl.SSLContext | None:
    """The TLS context for SSL and SASL_SSL (it verifies certificates and host names)."""
    if settings.kafka_security_protocol not in ("SSL", "SASL_SSL"):
        return None
    cafile = str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
    return ssl.create_default_context(cafile=cafile)


def check_security(settings: KafkaSecuritySettings) -> None:
    """Refuse SASL without a user name, with the variables to set."""
    sasl = settings.kafka_security_protocol.startswith("SASL_")
    if sasl and not settings.kafka_sasl_username:
        raise ValueError(
            f"MESHQ_KAFKA_SECURITY_PROTOCOL={settings.kafka_security_protocol} needs "
            "MESHQ_KAFKA_SASL_USERNAME and MESHQ_KAFKA_SASL_PASSWORD"
        )


def client_options(settings: KafkaSecuritySettings) -> dict[str, Any]:
    """Keyword arguments for aiokafka's consumer, producer, admin and low-level clients."""
    check_security(settings)
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {}
    options: dict[str, Any] = {"security_protocol": protocol}
    context = ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if protocol.startswith("SASL_"):
        options.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=settings.kafka_sasl_password.get_secret_value(),
        )
    return options
