"""A dedicated redis-server for one test, from the machine's binary, that the test can hang.

    with PausableRedis(tmp_path / "redis") as redis:
        redis.url        # redis://:<password>@127.0.0.1:<free port>/0
        redis.pause()    # SIGSTOP: connections are still accepted (by the kernel), never answered
        redis.resume()   # SIGCONT

A paused Redis is the outage that timeouts must bound: unlike a stopped one, it refuses
nothing, so every client call waits for an answer that does not come. Leaving the context
resumes it first (a stopped process does not act on SIGTERM) and stops it.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

from meshq_runtime.embedded import EmbeddedRedis

__all__ = ["PausableRedis", "redis_server_available"]


def redis_server_available() -> bool:
    return shutil.which("redis-server") is not None


class PausableRedis(EmbeddedRedis):
    """The machine's redis-server on a free loopback port, password set, no persistence."""

    name = "redis-dedicated"

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir=data_dir)
        self.paused = False

    def _prepare(self) -> None:
        super()._prepare()
        self._binary = Path(shutil.which("redis-server") or "redis-server")

    def _command(self) -> list[str]:
        command = super()._command()
        command[command.index("--appendonly") + 1] = "no"
        return command

    def _send(self, sig: signal.Signals) -> None:
        pid = self.pid
        if pid is None:
            raise RuntimeError("redis-server is not running")
        os.kill(pid, sig)

    def pause(self) -> None:
        self._send(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        if self.paused and self.pid is not None:
            self._send(signal.SIGCONT)
        self.paused = False

    def stop(self, timeout: float = 15.0) -> None:
        self.resume()
        super().stop(timeout)
