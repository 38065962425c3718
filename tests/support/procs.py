"""Services as real child processes, and deadline-bound waits (no fixed sleeps): the shared
helpers of :mod:`meshq_runtime.embedded.spawn`, under the names the tests import; and the
service credential that the internal APIs of those processes want."""

from __future__ import annotations

from collections.abc import Mapping

from meshq_runtime.embedded import free_port
from meshq_runtime.embedded.spawn import PORT_ENV, ServiceProc, reachable, wait_for
from meshq_runtime.service_auth import SERVICE_TOKEN_ENV, generate_token, service_headers

__all__ = [
    "PORT_ENV",
    "ServiceProc",
    "free_port",
    "internal_headers",
    "new_service_token",
    "reachable",
    "wait_for",
]


def new_service_token() -> dict[str, str]:
    """A fresh ``MESHQ_SERVICE_TOKEN`` for a test's processes, as environment."""
    return {SERVICE_TOKEN_ENV: generate_token()}


def internal_headers(env: Mapping[str, str], caller: str = "tests") -> dict[str, str]:
    """What a test sends to the internal API of processes started with ``env``."""
    return service_headers(env[SERVICE_TOKEN_ENV], caller)
