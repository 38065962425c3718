"""Kafka connection security (TLS, SASL) from ``KafkaSettings``, for every client we open.

``MESHQ_KAFKA_SECURITY_PROTOCOL`` is PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL;
SASL uses ``MESHQ_KAFKA_SASL_MECHANISM`` (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) with
``MESHQ_KAFKA_SASL_USERNAME`` / ``MESHQ_KAFKA_SASL_PASSWORD``; TLS verifies the brokers
against ``MESHQ_KAFKA_SSL_CAFILE`` or the system store.
"""

from __future__ import annotations

import ssl
from typing import Any

from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from meshq_runtime.settings import KafkaSettings

__all__ = ["broker_security", "client_options"]

_SCRAM = {"SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512, "PLAIN": SASLPlaintext}


def _ssl_context(settings: KafkaSettings) -> ssl.SSLContext | None:
    if settings.kafka_security_protocol not in ("SSL", "SASL_SSL"):
        return None
    cafile = str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
    return ssl.create_default_context(cafile=cafile)


def _check(settings: KafkaSettings) -> None:
    sasl = settings.kafka_security_protocol.startswith("SASL_")
    if sasl and not settings.kafka_sasl_username:
        raise ValueError(
            f"MESHQ_KAFKA_SECURITY_PROTOCOL={settings.kafka_security_protocol} needs "
            "MESHQ_KAFKA_SASL_USERNAME and MESHQ_KAFKA_SASL_PASSWORD"
        )


def client_options(settings: KafkaSettings) -> dict[str, Any]:
    """Keyword arguments for aiokafka's consumer, producer, admin and low-level clients."""
    _check(settings)
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {}
    options: dict[str, Any] = {"security_protocol": protocol}
    context = _ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if protocol.startswith("SASL_"):
        options.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=settings.kafka_sasl_password.get_secret_value(),
        )
    return options


def broker_security(settings: KafkaSettings) -> BaseSecurity | None:
    """The same, as FastStream's security object for ``KafkaBroker``."""
    _check(settings)
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = _ssl_context(settings)
    if not protocol.startswith("SASL_"):
        return BaseSecurity(ssl_context=context, use_ssl=True)
    cls = _SCRAM[settings.kafka_sasl_mechanism]
    return cls(
        settings.kafka_sasl_username,
        settings.kafka_sasl_password.get_secret_value(),
        ssl_context=context,
        use_ssl=context is not None,
    )
