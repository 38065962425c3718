"""Where the REST API is and which key to send, resolved in one place.

In order: what the caller passes (``meshq --api-url/--api-key``), else the environment
(``MESHOPTIXIQ_API_URL`` / ``MESHOPTIXIQ_API_KEY``), else the ``gateway`` and ``api_key``
entries of the endpoints file that ``meshq serve`` writes
(``$MESHQ_DATA_DIR/run/endpoints.json``). The key of that file is the local installation's
admin key: it is sent only to the gateway the same file names, never to a URL set elsewhere.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from network_discovery.client._errors import StackNotFound

__all__ = [
    "API_KEY_ENV",
    "API_URL_ENV",
    "DEFAULT_TIMEOUT",
    "ClientSettings",
    "endpoints_file",
    "locate",
    "read_endpoints",
    "resolve_settings",
]

API_URL_ENV = "MESHOPTIXIQ_API_URL"
API_KEY_ENV = "MESHOPTIXIQ_API_KEY"
#: Seconds one call may take (a long-poll adds its wait to it).
DEFAULT_TIMEOUT = 120.0

NO_STACK = (
    "no running MeshOptixIQ stack found: start one with 'meshq serve' (or 'make run'), "
    f"or set {API_URL_ENV} and {API_KEY_ENV} (meshq: --api-url and --api-key)"
)


@dataclass(frozen=True)
class ClientSettings:
    """The gateway's base URL and the credential every call carries: an API key
    (``X-API-Key``) or a bearer token; ``headers`` are sent as well (a correlation id)."""

    url: str
    api_key: str | None = field(default=None, repr=False)
    bearer: str | None = field(default=None, repr=False)
    #: Seconds a call may take; None: the timeout of the ``httpx`` client it is sent with.
    timeout: float | None = DEFAULT_TIMEOUT
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", self.url.rstrip("/"))

    def request_headers(self) -> dict[str, str]:
        out = dict(self.headers)
        if self.bearer:
            out["Authorization"] = f"Bearer {self.bearer}"
        elif self.api_key:
            out["X-API-Key"] = self.api_key
        return out


def endpoints_file(env: Mapping[str, str] | None = None) -> Path:
    """Where ``meshq serve`` says where everything runs (``$MESHQ_DATA_DIR/run``)."""
    env = os.environ if env is None else env
    base = env.get("MESHQ_DATA_DIR") or str(Path.home() / ".meshoptixiq" / "data")
    return Path(base).expanduser() / "run" / "endpoints.json"


def read_endpoints(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The endpoints file's entries; empty when there is none. One that cannot be read is a
    :class:`StackNotFound` naming it."""
    path = endpoints_file(env)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StackNotFound(f"cannot read {path}: {exc}") from exc
    return data if isinstance(data, dict) else {}


def locate(
    api_url: str | None = None,
    api_key: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> tuple[str | None, str | None]:
    """(URL, key) as far as they are known; None where nothing sets one."""
    env = os.environ if env is None else env
    url = api_url or env.get(API_URL_ENV) or None
    key = api_key or env.get(API_KEY_ENV) or None
    if url is None or key is None:
        local = read_endpoints(env)
        served = local.get("gateway") or None
        url = url or served
        same = served is not None and str(url).rstrip("/") == str(served).rstrip("/")
        if key is None and same:
            key = local.get("api_key") or None
    return (str(url).rstrip("/") if url else None), (str(key) if key else None)


def resolve_settings(
    api_url: str | None = None,
    api_key: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    require_key: bool = True,
) -> ClientSettings:
    """The settings of a client, or a :class:`StackNotFound` naming what to set."""
    url, key = locate(api_url, api_key, env=env)
    if url is None:
        raise StackNotFound(NO_STACK)
    if key is None and require_key:
        raise StackNotFound(
            f"no API key for the REST API at {url}: set {API_KEY_ENV} (meshq: --api-key)",
            url=url,
        )
    return ClientSettings(url=url, api_key=key, timeout=timeout)
