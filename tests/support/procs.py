"""Services as real child processes, and deadline-bound waits (no fixed sleeps): the shared
helpers of :mod:`meshq_runtime.embedded.spawn`, under the names the tests import."""

from __future__ import annotations

from meshq_runtime.embedded import free_port
from meshq_runtime.embedded.spawn import PORT_ENV, ServiceProc, reachable, wait_for

__all__ = ["PORT_ENV", "ServiceProc", "free_port", "reachable", "wait_for"]
