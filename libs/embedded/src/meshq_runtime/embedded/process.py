"""A child process that must not outlive us: start, wait until usable, stop, explain failures.

Every child runs in its own process group (a Ctrl-C in the terminal reaches only the
supervisor, which stops the children in order) and, when started from the main thread, with
``PR_SET_PDEATHSIG`` so that the kernel signals it if the supervisor dies, even by SIGKILL.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import structlog

from meshq_runtime.embedded.ports import free_port, is_listening

__all__ = ["EmbeddedError", "EmbeddedProcess", "child_setup", "tail"]

log = structlog.get_logger(__name__)

_PR_SET_PDEATHSIG = 1


class EmbeddedError(RuntimeError):
    """An embedded part could not start or stop; the message carries the tail of its log."""


def tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a log file ('' when it does not exist)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            data = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def child_setup(death_signal: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` that asks the kernel to send ``death_signal`` when we die.

    It runs after the user switch (a credential change clears the setting). ``PDEATHSIG``
    fires when the *thread* that forked exits, so it is only set from the main thread.
    Returns ``None`` where it does not apply (not Linux, not the main thread).
    """
    if not sys.platform.startswith("linux"):
        return None
    if threading.current_thread() is not threading.main_thread():
        return None
    parent = os.getpid()
    libc = ctypes.CDLL(None, use_errno=True)

    def setup() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, int(death_signal), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return setup


def _alive(proc: subprocess.Popen[bytes] | None) -> bool:
    return proc is not None and proc.poll() is None


class EmbeddedProcess:
    """Base of Tansu, embedded PostgreSQL and Redis: one server process on a loopback port.

    Subclasses give the command line and a readiness probe. When no port is given, a free one
    is picked at each start, and the start is retried on another port if it was taken
    meanwhile.
    """

    name: str = "process"
    #: Signal the kernel sends the child when we die.
    death_signal: int = signal.SIGTERM
    #: Signal for a graceful stop.
    stop_signal: int = signal.SIGTERM

    def __init__(self, *, port: int | None, log_path: Path, start_timeout: float = 60.0) -> None:
        self._fixed_port = port
        self.port: int = port or 0
        self.log_path = log_path
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None

    # -- what subclasses provide -------------------------------------------------------------
    def _command(self) -> list[str]:
        raise NotImplementedError

    def _probe(self) -> bool:
        """True once the server answers a real request."""
        raise NotImplementedError

    def _popen_kwargs(self) -> dict[str, Any]:
        return {}

    def _prepare(self) -> None:
        """Work before the first spawn (directories, initdb)."""

    def _after_ready(self) -> None:
        """Work once the server answers (create a database); an error aborts the start."""

    def _graceful_stop(self) -> None:
        assert self._proc is not None
        self._signal(self.stop_signal)

    # -- public surface ----------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    @property
    def running(self) -> bool:
        return _alive(self._proc)

    @property
    def url(self) -> str:
        raise NotImplementedError

    def start(self) -> Self:
        if self.running:
            return self
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._prepare()
        attempts = 1 if self._fixed_port else 3
        for attempt in range(1, attempts + 1):
            self.port = self._fixed_port or free_port()
            self._spawn()
            outcome = self._wait_ready()
            if outcome == "ready":
                try:
                    self._after_ready()
                except BaseException:
                    self._kill()
                    raise
                log.info("embedded.started", part=self.name, port=self.port, pid=self.pid)
                return self
            if outcome == "port-taken" and attempt < attempts:
                log.info("embedded.port_taken", part=self.name, port=self.port)
                continue
            self._kill()
            if outcome == "timeout":
                reason = f"did not answer within {self.start_timeout:.0f}s"
            elif outcome == "port-taken":
                reason = f"could not listen on port {self.port}: it is in use"
            else:
                reason = f"exited with code {outcome}"
            raise EmbeddedError(
                f"{self.name} {reason} (log {self.log_path}):\n{tail(self.log_path)}"
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self, timeout: float = 15.0) -> None:
        """Stop gracefully, then by force; safe to call twice."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            try:
                self._graceful_stop()
                self._proc.wait(timeout=timeout)
            except (subprocess.TimeoutExpired, EmbeddedError, OSError) as exc:
                log.warning("embedded.stop_forced", part=self.name, reason=str(exc)[:200])
                self._kill()
        self._reap_group()
        log.info("embedded.stopped", part=self.name)
        self._proc = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def poll(self) -> int | None:
        """The exit code if the process ended, else None."""
        return None if self._proc is None else self._proc.poll()

    # -- what a supervisor uses (``meshq serve`` restarts a part that died) --------------------
    def respawn(self) -> None:
        """Start the server again on the port it had, without waiting for it (the clients
        were given that port): what is left of the last run is killed first. The caller polls
        :meth:`answers` until it is usable."""
        if self.running:
            return
        self._reap_group()  # backends or helpers of the run that died
        self._spawn()

    def answers(self) -> bool:
        """Whether the server runs, listens on its port and answers its probe (no waiting)."""
        proc = self._proc
        if proc is None or proc.poll() is not None or not is_listening(proc.pid, self.port):
            return False
        try:
            return self._probe()
        except (OSError, subprocess.SubprocessError):
            return False

    def terminate(self) -> None:
        """Ask for a graceful stop with one signal (no waiting): the staged shutdown of
        ``meshq serve`` waits for every part of a stage together."""
        self._signal(self.stop_signal)

    def kill(self) -> None:
        """SIGKILL the server and whatever is left in its process group."""
        self._kill()

    def log_tail(self, lines: int = 20) -> str:
        return tail(self.log_path, lines)

    # -- internals ---------------------------------------------------------------------------
    def _spawn(self) -> None:
        with self.log_path.open("ab") as out:
            self._proc = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                process_group=0,
                preexec_fn=child_setup(self.death_signal),
                **self._popen_kwargs(),
            )

    def _wait_ready(self) -> str:
        """'ready', 'port-taken', 'timeout', or the exit code as text."""
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout
        delay = 0.05
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                text = tail(self.log_path, 30).lower()
                return "port-taken" if "in use" in text else str(code)
            if is_listening(self._proc.pid, self.port):
                try:
                    if self._probe():
                        return "ready"
                except OSError:
                    pass
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)
        return "timeout"

    def _signal(self, sig: int) -> None:
        if self._proc is not None and self._proc.poll() is None:
            try:
                self._proc.send_signal(sig)
            except ProcessLookupError:
                pass

    def _kill(self) -> None:
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._signal(signal.SIGKILL)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover - the kernel owes us this
                log.error("embedded.kill_failed", part=self.name, pid=self._proc.pid)
        self._reap_group()

    def _reap_group(self) -> None:
        """Kill whatever is left in the child's process group (helpers it forked)."""
        if self._proc is None:
            return
        try:
            os.killpg(self._proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
