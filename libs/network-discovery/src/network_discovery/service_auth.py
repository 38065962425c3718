"""The installation's service credential, as the clients of internal HTTP APIs send it.

Every internal HTTP API (the graph engine's ``/internal/...``, the audit service, the license
agent's ``GET /license``, the SOAR dispatcher's replay, the NetBox sync's status) answers only
callers that present the installation's service credential in :data:`TOKEN_HEADER`, and name
themselves in :data:`CALLER_HEADER` (a name the audit log records for writes).

The credential is ``MESHQ_SERVICE_TOKEN`` when set (compose, Kubernetes: the same value on
every service), else the file ``run/service_token`` of the data directory, which ``meshq
serve`` generates once (mode 0600) and hands to its children. The services' side (checking,
generating) lives in ``meshq_runtime.service_auth``; this module is what a client needs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "CALLER_HEADER",
    "CALLER_RE",
    "MIN_TOKEN_CHARS",
    "SERVICE_TOKEN_ENV",
    "TOKEN_HEADER",
    "check_token",
    "read_service_token",
    "service_headers",
    "token_file",
]

SERVICE_TOKEN_ENV = "MESHQ_SERVICE_TOKEN"  # noqa: S105 - a variable's name
TOKEN_HEADER = "X-MeshQ-Service-Token"  # noqa: S105 - a header's name
CALLER_HEADER = "X-MeshQ-Caller"
#: A credential shorter than this is refused (at a service's start, and by ``meshq serve``).
MIN_TOKEN_CHARS = 32
#: What a caller may call itself: a service name, ``cli``, ``bench``.
CALLER_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def check_token(value: str, origin: str = SERVICE_TOKEN_ENV) -> str:
    """``value`` when it can be a credential; a ``ValueError`` saying what to fix otherwise."""
    if len(value) < MIN_TOKEN_CHARS:
        raise ValueError(
            f"{origin} must be at least {MIN_TOKEN_CHARS} characters (e.g. `openssl rand -hex 32`)"
        )
    if not all(33 <= ord(c) <= 126 for c in value):
        raise ValueError(
            f"{origin} must be printable ASCII without spaces (it travels in a header)"
        )
    return value


def token_file(data_dir: Path) -> Path:
    """Where the generated credential of a data directory lives."""
    return data_dir / "run" / "service_token"


def _default_data_dir(environ: Mapping[str, str]) -> Path:
    raw = environ.get("MESHQ_DATA_DIR")
    return Path(raw).expanduser() if raw else Path.home() / ".meshoptixiq" / "data"


def read_service_token(
    environ: Mapping[str, str] | None = None, data_dir: Path | None = None
) -> str | None:
    """``MESHQ_SERVICE_TOKEN``, else the data directory's generated one, else None."""
    env = os.environ if environ is None else environ
    value = (env.get(SERVICE_TOKEN_ENV) or "").strip()
    if value:
        return value
    path = token_file(data_dir or _default_data_dir(env))
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return value or None


def service_headers(token: str, caller: str) -> dict[str, str]:
    """The headers of an authenticated internal call."""
    if not CALLER_RE.match(caller):
        raise ValueError(f"caller name {caller!r} is not a-z, 0-9, '.', '_' or '-'")
    return {TOKEN_HEADER: token, CALLER_HEADER: caller}
