"""Kafka TLS / SASL settings reach every client the same way: the FastStream broker (through
its security object) and the aiokafka consumers, admin and metadata clients we open."""

from __future__ import annotations

import ssl

import certifi
import pytest
from faststream.kafka.security import parse_security
from meshq_runtime.kafka.broker import create_broker
from meshq_runtime.kafka.security import broker_security, client_options
from meshq_runtime.settings import KafkaSettings


def settings(**env: str) -> KafkaSettings:
    return KafkaSettings(**env)  # type: ignore[arg-type]


def test_plaintext_adds_nothing() -> None:
    s = settings()
    assert client_options(s) == {}
    assert broker_security(s) is None


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
@pytest.mark.parametrize("protocol", ["SASL_PLAINTEXT", "SASL_SSL"])
def test_sasl_is_the_same_for_the_broker_and_the_raw_clients(protocol, mechanism) -> None:
    s = settings(
        MESHQ_KAFKA_SECURITY_PROTOCOL=protocol,
        MESHQ_KAFKA_SASL_MECHANISM=mechanism,
        MESHQ_KAFKA_SASL_USERNAME="meshq",
        MESHQ_KAFKA_SASL_PASSWORD="s3cret-value",
    )
    raw = client_options(s)
    broker = parse_security(broker_security(s))
    for key in (
        "security_protocol",
        "sasl_mechanism",
        "sasl_plain_username",
        "sasl_plain_password",
    ):
        assert raw[key] == broker[key], key
    assert raw["security_protocol"] == protocol and raw["sasl_mechanism"] == mechanism
    assert raw["sasl_plain_password"] == "s3cret-value"
    assert ("ssl_context" in raw) == (protocol == "SASL_SSL")
    assert (broker["ssl_context"] is not None) == (protocol == "SASL_SSL")
    assert "s3cret-value" not in repr(s)  # the password stays a SecretStr


def test_tls_verifies_against_the_configured_ca() -> None:
    # A CA bundle that is not the system store: certifi's copy of Mozilla's roots.
    s = settings(MESHQ_KAFKA_SECURITY_PROTOCOL="SSL", MESHQ_KAFKA_SSL_CAFILE=certifi.where())
    raw = client_options(s)
    ctx = raw["ssl_context"]
    assert raw["security_protocol"] == "SSL"
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    subjects = [dict(x[0] for x in c["subject"]) for c in ctx.get_ca_certs()]
    assert {
        "countryName": "US",
        "organizationName": "Internet Security Research Group",
        "commonName": "ISRG Root X1",
    } in subjects
    assert parse_security(broker_security(s))["security_protocol"] == "SSL"


def test_a_missing_ca_file_fails_at_start(tmp_path) -> None:
    s = settings(MESHQ_KAFKA_SECURITY_PROTOCOL="SSL", MESHQ_KAFKA_SSL_CAFILE=str(tmp_path / "none"))
    with pytest.raises(FileNotFoundError):
        client_options(s)


def test_sasl_without_credentials_is_refused_with_a_message() -> None:
    s = settings(MESHQ_KAFKA_SECURITY_PROTOCOL="SASL_SSL")
    with pytest.raises(ValueError, match="needs MESHQ_KAFKA_SASL_USERNAME"):
        create_broker(s, client_id="t")


def test_unknown_protocol_or_mechanism_is_refused() -> None:
    with pytest.raises(ValueError, match="MESHQ_KAFKA_SECURITY_PROTOCOL"):
        settings(MESHQ_KAFKA_SECURITY_PROTOCOL="TLS")
    with pytest.raises(ValueError, match="MESHQ_KAFKA_SASL_MECHANISM"):
        settings(MESHQ_KAFKA_SASL_MECHANISM="GSSAPI")
