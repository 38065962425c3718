"""One service run as a plain child process on a free port, and deadline-bound waiting.

The test suite and ``make bench`` start services this way (``meshq serve`` supervises its own
children with :mod:`meshq_runtime.embedded.services`). Nothing here sleeps a fixed time: every
wait polls until a deadline and says what it was waiting for when it gives up.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from meshq_runtime.embedded.process import tail
from meshq_runtime.embedded.services import SERVICES

__all__ = ["PORT_ENV", "ServiceProc", "reachable", "wait_for"]

#: module → the variable that service reads its HTTP port from
PORT_ENV: dict[str, str] = {spec.module: spec.port_env for spec in SERVICES}


def wait_for(
    predicate: Callable[[], Any],
    *,
    timeout: float = 30.0,
    interval: float = 0.1,
    what: str = "condition",
) -> Any:
    """Poll ``predicate`` until it returns something truthy (returned) or ``timeout`` passes
    (``TimeoutError`` naming ``what`` and the last answer or exception)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except Exception as exc:  # keep polling until the deadline
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def reachable(url: str, default_port: int, timeout: float = 2.0) -> bool:
    """Whether a TCP connection to the URL's host and port opens."""
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), timeout
        ):
            return True
    except OSError:
        return False


@dataclass
class ServiceProc:
    """``python -m module`` with ``env`` on top of ours, its port in the service's variable
    (``port_env``, default from :data:`PORT_ENV`), output appended to ``log_path``."""

    module: str
    port: int
    env: dict[str, str]
    log_path: Path
    port_env: str | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServiceProc:
        env = {**os.environ, **self.env, "MESHQ_LOG_FORMAT": "json"}
        port_env = self.port_env or PORT_ENV.get(self.module)
        if port_env:
            env.setdefault(port_env, str(self.port))
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.module], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    def wait_healthy(self, timeout: float = 120.0, path: str = "/ready") -> ServiceProc:
        """Until ``GET path`` answers 200; an early exit or the deadline raises with the log."""

        def ok() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.module} exited {self.proc.returncode}:\n{self.tail()}")
            return httpx.get(f"{self.url}{path}", timeout=2).status_code == 200

        try:
            wait_for(ok, timeout=timeout, what=f"{self.module} ready")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}\n--- {self.module} log ---\n{self.tail()}") from None
        return self

    def wait_exit(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 15 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 40) -> str:
        return tail(self.log_path, lines)
