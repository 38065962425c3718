"""Kafka connection security (TLS, SASL) from ``KafkaSettings``, for every client we open:
aiokafka's keyword arguments (:func:`client_options`) and FastStream's security object
(:func:`broker_security`). The settings themselves are
:class:`meshq_runtime.settings.KafkaSecuritySettings`.
"""

from __future__ import annotations

import ssl
from typing import Any

from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from meshq_runtime.settings import KafkaSecuritySettings

__all__ = ["broker_security", "check_security", "client_options", "ssl_context"]

_SCRAM = {"SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512, "PLAIN": SASLPlaintext}


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


def broker_security(settings: KafkaSecuritySettings) -> BaseSecurity | None:
    """The same, as FastStream's security object for ``KafkaBroker``."""
    check_security(settings)
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = ssl_context(settings)
    if not protocol.startswith("SASL_"):
        return BaseSecurity(ssl_context=context, use_ssl=True)
    cls = _SCRAM[settings.kafka_sasl_mechanism]
    return cls(
        settings.kafka_sasl_username,
        settings.kafka_sasl_password.get_secret_value(),
        ssl_context=context,
        use_ssl=context is not None,
    )
