"""API key authentication (``X-API-Key``), compared in constant time."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any, Protocol

from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from meshq_runtime.http import problem_response, send_response
from pydantic import SecretStr

from meshq_query_gateway.apikeys import KeyFile

__all__ = [
    "ADMIN",
    "PUBLIC_PATHS",
    "SESSION_COOKIE",
    "ApiKeyMiddleware",
    "AuthError",
    "KeyChecker",
    "Principal",
    "SessionVerifier",
    "TokenVerifier",
    "is_public",
    "principal_of",
    "same_origin",
]

#: Paths open without a key: probes, the API description, and the web UI's own files and
#: sign-in (its data comes from the routes below, which authenticate).
PUBLIC_PATHS = ("/health", "/ready", "/schema", "/ui")

#: The web UI's session cookie (``ui.session``): it stands for the principal that signed in.
SESSION_COOKIE = "meshq_session"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a name, how they authenticated, their RBAC groups, and whether they hold
    the installation's admin key (the local ``meshq`` CLI uses it)."""

    name: str
    auth_method: str
    groups: frozenset[str] = frozenset()
    admin_key: bool = False
    #: The named API key's id (``admin`` for the installation's key): two keys never share it.
    key_id: str | None = None

    @property
    def identity(self) -> str:
        """Stable key for rate limits: the method and the key's id (an API key's name is a
        label and may repeat across revocations), else the name (an OIDC subject)."""
        return f"{self.auth_method}:{self.key_id or self.name}"


#: The holder of ``API_KEY``.
ADMIN = Principal("admin", "api_key", frozenset({"admin"}), admin_key=True, key_id="admin")


def is_public(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PUBLIC_PATHS)


class AuthError(Exception):
    """A credential was presented and is not good; the message says why (never the secret)."""


class TokenVerifier(Protocol):
    async def verify(self, token: str) -> Principal: ...


class SessionVerifier(Protocol):
    def verify(self, value: str) -> Principal: ...


class KeyChecker:
    """An API key as presented: the admin key (``API_KEY``) or a named key of the key file,
    compared in constant time. The middleware uses it per request, the web UI's sign-in form
    once per session."""

    def __init__(self, api_key: SecretStr | None, keys: KeyFile | None = None) -> None:
        self._key = api_key.get_secret_value().encode() if api_key else None
        self.keys = keys

    @property
    def configured(self) -> bool:
        return self._key is not None or self.keys is not None

    def check(self, presented: bytes) -> Principal:
        if self._key is not None and hmac.compare_digest(presented, self._key):
            return ADMIN
        if self.keys is not None:
            try:
                named = self.keys.lookup(presented.decode("ascii"))
            except UnicodeDecodeError:
                named = None
            if named is not None:
                return Principal(named.name, "api_key", named.groups, key_id=named.id)
        if not self.configured:
            raise AuthError("this gateway has no API key configured: set API_KEY")
        raise AuthError("the X-API-Key is not valid")


class ApiKeyMiddleware(ASGIMiddleware):
    """``X-API-Key`` (the admin key or a named key) and, with ``AUTH_MODE`` oidc or both,
    ``Authorization: Bearer <JWT>``. Anything else on a non-public path is a 401 problem."""

    def __init__(
        self,
        api_key: SecretStr | None,
        keys: KeyFile | None = None,
        *,
        oidc: TokenVerifier | None = None,
        mode: str = "api_key",
        sessions: SessionVerifier | None = None,
    ) -> None:
        self._checker = KeyChecker(api_key, keys)
        self._oidc = oidc
        self._api_keys_on = mode in {"api_key", "both"}
        self._oidc_on = mode in {"oidc", "both"} and oidc is not None
        self._sessions = sessions

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["type"] != "http" or is_public(scope["path"]):
            await next_app(scope, receive, send)
            return
        try:
            who = await self._authenticate(scope)
        except AuthError as exc:
            response = problem_response(401, "Unauthorized", str(exc))
            response.headers["WWW-Authenticate"] = self._challenge()
            await send_response(response, scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = who
        await next_app(scope, receive, send)

    def _challenge(self) -> str:
        return 'Bearer realm="meshoptixiq"' if self._oidc_on else 'APIKey realm="meshoptixiq"'

    async def _authenticate(self, scope: Scope) -> Principal:
        presented = _header(scope, b"x-api-key")
        bearer = _bearer(_header(scope, b"authorization"))
        if presented is not None and self._api_keys_on:
            return self._check_key(presented)
        if bearer is not None and self._oidc_on:
            assert self._oidc is not None
            return await self._oidc.verify(bearer)
        if self._sessions is not None:
            cookie = _cookie(scope, SESSION_COOKIE)
            if cookie is not None:
                same_origin(scope)
                who = self._sessions.verify(cookie)
                # a session stands for a credential of a kind this gateway still accepts
                if who.auth_method == "oidc" and not self._oidc_on:
                    raise AuthError("single sign-on is off on this gateway: sign in again")
                if who.auth_method != "oidc" and not self._api_keys_on:
                    raise AuthError("API keys are off on this gateway: sign in again")
                return who
        if self._api_keys_on and not self._checker.configured and not self._oidc_on:
            raise AuthError("this gateway has no API key configured: set API_KEY")
        if self._api_keys_on and self._oidc_on:
            raise AuthError(
                "send your API key in X-API-Key or a token as Authorization: Bearer <token>"
            )
        if self._oidc_on:
            raise AuthError("send your identity provider's token as Authorization: Bearer <token>")
        raise AuthError("send your API key in X-API-Key")

    def _check_key(self, presented: bytes) -> Principal:
        return self._checker.check(presented)


def _bearer(value: bytes | None) -> str | None:
    if value is None:
        return None
    scheme, _, token = value.decode("latin-1").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value)
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    raw = _header(scope, b"cookie")
    if raw is None:
        return None
    for part in raw.decode("latin-1").split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name and value:
            return value
    return None


def same_origin(scope: Scope) -> None:
    """A cookie-authenticated call that changes something must come from this origin (the
    cookie is SameSite=Strict already; this also refuses a sibling site's request)."""
    if scope.get("method", "GET") in {"GET", "HEAD", "OPTIONS"}:
        return
    origin = _header(scope, b"origin")
    host = _header(scope, b"host")
    if origin is None:
        return
    if host is None or origin.split(b"://", 1)[-1].lower() != host.lower():
        raise AuthError("a cross-origin request may not use the sign-in session")


def principal_of(scope: Any) -> Principal | None:
    return scope.get("state", {}).get("principal")
