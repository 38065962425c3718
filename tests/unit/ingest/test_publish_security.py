"""The CLI publisher (``meshq ingest``/``discover``/``sync``) connects with the same
``MESHQ_KAFKA_*`` TLS/SASL settings as the services.

No TLS or SASL broker runs here, so the checks are: the options land on aiokafka's client
objects, and on the wire a listener sees a TLS ClientHello where TLS is asked for and a
plain Kafka request where it is not.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import certifi
import pytest
from click.testing import CliRunner
from network_discovery.cli import cli
from network_discovery.demo import snapshot_text
from network_discovery.ingest.publish import event_publisher, publish_snapshot, snapshot_producer
from network_discovery.kafka_security import KafkaSecuritySettings
from network_discovery.model import Snapshot

_ENV = (
    "MESHQ_KAFKA_SECURITY_PROTOCOL",
    "MESHQ_KAFKA_SASL_MECHANISM",
    "MESHQ_KAFKA_SASL_USERNAME",
    "MESHQ_KAFKA_SASL_PASSWORD",
    "MESHQ_KAFKA_SSL_CAFILE",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)


class FirstBytes:
    """A TCP listener that keeps the first bytes each connection sends, then hangs up."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.seen: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    self.seen.append(conn.recv(64))
                except OSError:
                    self.seen.append(b"")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[FirstBytes]:
    server = FirstBytes()
    yield server
    server.close()


def _is_tls_client_hello(data: bytes) -> bool:
    # TLS record: handshake (22), version 3.x, then handshake type 1 (ClientHello).
    return len(data) > 5 and data[0] == 0x16 and data[1] == 0x03 and data[5] == 0x01


def _is_kafka_request(data: bytes) -> bool:
    # Kafka request: int32 size, then int16 api key (18 = ApiVersions, 3 = Metadata).
    return len(data) >= 6 and int.from_bytes(data[4:6], "big") in (3, 18)


def _client(security: KafkaSecuritySettings | None = None) -> Any:
    """aiokafka's client object of the snapshot producer (built, never started)."""

    async def build() -> Any:
        producer = snapshot_producer("127.0.0.1:1", security=security)
        client = producer.client
        await producer.stop()
        return client

    return asyncio.run(build())


def _snapshot() -> Snapshot:
    return Snapshot.model_validate_json(snapshot_text())


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
@pytest.mark.parametrize("protocol", ["SASL_PLAINTEXT", "SASL_SSL"])
def test_sasl_settings_from_the_environment_reach_the_producer(
    monkeypatch: pytest.MonkeyPatch, protocol: str, mechanism: str
) -> None:
    monkeypatch.setenv("MESHQ_KAFKA_SECURITY_PROTOCOL", protocol)
    monkeypatch.setenv("MESHQ_KAFKA_SASL_MECHANISM", mechanism)
    monkeypatch.setenv("MESHQ_KAFKA_SASL_USERNAME", "ingest")
    monkeypatch.setenv("MESHQ_KAFKA_SASL_PASSWORD", "pw-from-env")
    monkeypatch.setenv("MESHQ_KAFKA_SSL_CAFILE", certifi.where())
    client = _client()
    assert client._security_protocol == protocol
    assert client._sasl_mechanism == mechanism
    assert client._sasl_plain_username == "ingest"
    assert client._sasl_plain_password == "pw-from-env"
    assert (client._ssl_context is not None) == (protocol == "SASL_SSL")


def test_settings_passed_by_a_service_win_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MESHQ_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    given = KafkaSecuritySettings(
        MESHQ_KAFKA_SECURITY_PROTOCOL="SASL_SSL",  # type: ignore[call-arg]
        MESHQ_KAFKA_SASL_USERNAME="svc",
        MESHQ_KAFKA_SASL_PASSWORD="pw",
    )
    client = _client(given)
    assert client._security_protocol == "SASL_SSL" and client._sasl_plain_username == "svc"


def test_sasl_without_a_user_is_refused_before_connecting(
    monkeypatch: pytest.MonkeyPatch, listener: FirstBytes
) -> None:
    monkeypatch.setenv("MESHQ_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    with pytest.raises(ValueError, match="needs MESHQ_KAFKA_SASL_USERNAME"):
        asyncio.run(publish_snapshot(_snapshot(), bootstrap=listener.bootstrap))
    assert listener.seen == []


@pytest.mark.parametrize("wait", [False, True])
def test_tls_is_what_the_publisher_speaks_on_the_wire(
    monkeypatch: pytest.MonkeyPatch, listener: FirstBytes, wait: bool
) -> None:
    monkeypatch.setenv("MESHQ_KAFKA_SECURITY_PROTOCOL", "SSL")
    with pytest.raises(Exception):  # noqa: B017 - the listener hangs up after the hello
        asyncio.run(
            publish_snapshot(_snapshot(), bootstrap=listener.bootstrap, wait=wait, timeout=1)
        )
    assert listener.seen and all(_is_tls_client_hello(b) for b in listener.seen)


def test_plaintext_stays_plain_on_the_wire(listener: FirstBytes) -> None:
    async def go() -> None:
        async with event_publisher(listener.bootstrap):
            pass

    with pytest.raises(Exception):  # noqa: B017 - nobody answers the request
        asyncio.run(go())
    assert listener.seen and all(_is_kafka_request(b) for b in listener.seen)


def test_meshq_ingest_connects_with_tls_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, listener: FirstBytes, tmp_path: Path
) -> None:
    monkeypatch.setenv("MESHQ_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MESHQ_KAFKA_BOOTSTRAP", listener.bootstrap)
    monkeypatch.setenv("MESHQ_KAFKA_SECURITY_PROTOCOL", "SSL")
    (tmp_path / "s.json").write_text(snapshot_text())
    result = CliRunner().invoke(cli, ["ingest", str(tmp_path / "s.json")])
    assert result.exit_code != 0
    # the listener takes the TLS hello and never answers: a one-line error naming the broker
    assert f"Kafka broker at {listener.bootstrap}" in result.output
    assert "Traceback" not in result.output
    assert listener.seen and all(_is_tls_client_hello(b) for b in listener.seen)
