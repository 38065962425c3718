"""Audit settings."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from meshq_runtime.settings import (
    KafkaSettings,
    LicenseClientSettings,
    PostgresSettings,
    ServiceSettings,
)
from pydantic import Field, SecretStr

__all__ = ["Settings"]

MIN_KEY_BYTES = 16


class Settings(ServiceSettings, KafkaSettings, PostgresSettings, LicenseClientSettings):
    port: int = Field(8003, alias="MESHQ_AUDIT_PORT")
    license_wait_s: float = Field(
        5.0,
        ge=0,
        alias="MESHQ_AUDIT_LICENSE_WAIT_S",
        description="How long start-up waits to learn the plan before consuming events.",
    )
    hmac_key: SecretStr | None = Field(
        None,
        alias="MESHQ_AUDIT_HMAC_KEY",
        description="Key of the per-record HMAC; when unset, one is kept in the data directory.",
    )

    siem_syslog: str | None = Field(
        None, alias="MESHQ_AUDIT_SIEM_SYSLOG", description="host:port of an RFC 5424 TCP receiver."
    )
    siem_syslog_tls: bool = Field(False, alias="MESHQ_AUDIT_SIEM_SYSLOG_TLS")
    siem_syslog_ca: str | None = Field(
        None, alias="MESHQ_AUDIT_SIEM_SYSLOG_CA", description="CA bundle to verify the receiver."
    )
    siem_retry_max_s: float = Field(30.0, gt=0, alias="MESHQ_AUDIT_SIEM_RETRY_MAX_S")
    siem_http_url: str | None = Field(None, alias="MESHQ_AUDIT_SIEM_HTTP_URL")
    siem_http_token: SecretStr | None = Field(None, alias="MESHQ_AUDIT_SIEM_HTTP_TOKEN")

    checkpoint_file: str | None = Field(
        None,
        alias="MESHQ_AUDIT_CHECKPOINT_FILE",
        description="Where signed checkpoints of the chain head are appended; keep it off the "
        "database's storage. Default <data dir>/audit/checkpoints.jsonl.",
    )
    checkpoint_interval_s: float = Field(
        60.0,
        gt=0,
        le=86400,
        alias="MESHQ_AUDIT_CHECKPOINT_INTERVAL_S",
        description="How often the chain head is signed while it moves.",
    )

    batch_max_records: int = Field(
        1000,
        ge=1,
        le=10_000,
        alias="MESHQ_AUDIT_BATCH_MAX_RECORDS",
        description="The most audit events appended to the chain in one transaction.",
    )
    batch_max_wait_ms: int = Field(
        20,
        ge=1,
        le=1_000,
        alias="MESHQ_AUDIT_BATCH_MAX_WAIT_MS",
        description="How long a fetch of audit events waits for a first one (an idle consumer "
        "takes up to this long to see the next event); a fetch never waits to fill a batch.",
    )

    republish_window_s: float = Field(
        900.0,
        ge=0,
        alias="MESHQ_AUDIT_REPUBLISH_WINDOW_S",
        description="When the broker is seen to have lost its log (the embedded broker "
        "restarted), the audit.recorded events announced in this many seconds before are "
        "published again; 0 publishes none again.",
    )

    def checkpoint_path(self) -> Path:
        if self.checkpoint_file:
            return Path(self.checkpoint_file)
        return self.data_dir / "audit" / "checkpoints.jsonl"

    def syslog_address(self) -> tuple[str, int] | None:
        if not self.siem_syslog:
            return None
        host, sep, port = self.siem_syslog.rpartition(":")
        if not sep or not port.isdigit() or not host:
            raise ValueError("MESHQ_AUDIT_SIEM_SYSLOG must be host:port")
        return host.strip("[]"), int(port)

    def audit_key(self) -> bytes:
        """The HMAC key: ``MESHQ_AUDIT_HMAC_KEY``, else ``<data dir>/audit/hmac.key`` (0600)."""
        if self.hmac_key is not None:
            key = self.hmac_key.get_secret_value().encode()
            if len(key) < MIN_KEY_BYTES:
                raise ValueError(f"MESHQ_AUDIT_HMAC_KEY must be at least {MIN_KEY_BYTES} bytes")
            return key
        path = self.data_dir / "audit" / "hmac.key"
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip().encode()
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
        return path.read_text().strip().encode()
