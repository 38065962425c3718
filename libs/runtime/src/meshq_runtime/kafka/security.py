"""Kafka connection security (TLS, SASL) from ``KafkaSettings``, for every client we open.

The settings and the aiokafka keyword arguments live in ``network_discovery.kafka_security``
(the CLI publisher uses them too); this module adds FastStream's security object.
"""

from __future__ import annotations

from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from network_discovery.kafka_security import check_security, client_options, ssl_context

from meshq_runtime.settings import KafkaSettings

__all__ = ["broker_security", "client_options"]

_SCRAM = {"SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512, "PLAIN": SASLPlaintext}


def broker_security(settings: KafkaSettings) -> BaseSecurity | None:
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
