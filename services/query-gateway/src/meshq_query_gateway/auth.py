"""API key authentication (``X-API-Key``), compared in constant time."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from meshq_runtime.http import problem_response
from pydantic import SecretStr

__all__ = ["PUBLIC_PATHS", "ApiKeyMiddleware", "Principal"]

#: Paths open without a key: probes and the API description.
PUBLIC_PATHS = ("/health", "/ready", "/schema")


@dataclass(frozen=True)
class Principal:
    name: str
    auth_method: str


def is_public(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PUBLIC_PATHS)


class ApiKeyMiddleware(ASGIMiddleware):
    def __init__(self, api_key: SecretStr | None) -> None:
        self._key = api_key.get_secret_value().encode() if api_key else None

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["type"] != "http" or is_public(scope["path"]):
            await next_app(scope, receive, send)
            return
        presented = _header(scope, b"x-api-key")
        if self._key is None:
            response = problem_response(
                401, "Unauthorized", "this gateway has no API key configured: set API_KEY"
            )
        elif presented is None:
            response = problem_response(401, "Unauthorized", "send your API key in X-API-Key")
        elif not hmac.compare_digest(presented, self._key):
            response = problem_response(401, "Unauthorized", "the X-API-Key is not valid")
        else:
            scope.setdefault("state", {})["principal"] = Principal("admin", "api_key")
            await next_app(scope, receive, send)
            return
        await response.to_asgi_response(app=None, request=None)(scope, receive, send)  # type: ignore[arg-type]


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value)
    return None


def principal_of(scope: Any) -> Principal | None:
    return scope.get("state", {}).get("principal")
