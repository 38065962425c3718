"""One-time sign-in links and the web UI's session cookie.

The local admin (the ``API_KEY`` holder, e.g. ``meshq serve``) asks for a link; opening it once
exchanges it for a session cookie, so that no API key is ever put in a URL.

- A link's token is ``<id>.<secret>``, both random. Redis keeps, under the id, the SHA-256 of
  the secret and the expiry (and expires the key itself), so every gateway pod can redeem it and
  none keeps the secret. Redeeming reads the record, compares digests in constant time, checks
  the expiry, then deletes the key: only the caller whose delete removed it is signed in, so a
  token works once, even when two pods race for it.
- The cookie (``meshq_session``) is a JWT (HS256, PyJWT) with ``exp``, signed with a key
  derived from ``API_KEY``: every pod verifies it, and changing the admin key ends every
  session. It stands for the admin key (the same RBAC, audited as the admin), is ``HttpOnly``
  and ``SameSite=Strict`` (``Secure`` over HTTPS), and is accepted only when no other
  credential is sent.

Tokens and cookies are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from pydantic import SecretStr

from meshq_query_gateway.auth import ADMIN, SESSION_COOKIE, AuthError, Principal
from meshq_query_gateway.redis_guard import GuardedRedis

__all__ = [
    "COOKIE",
    "LinkRefused",
    "SessionCookies",
    "SignInLinks",
]

#: The session cookie's name (the auth middleware reads it).
COOKIE = SESSION_COOKIE

_AUDIENCE = "meshoptixiq-ui"
_ALGORITHM = "HS256"
_DERIVE = b"meshoptixiq ui session cookie v1"
#: ``<id>.<secret>``: URL-safe base64 of 12 and 32 random bytes.
_TOKEN = re.compile(r"^([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$")
#: Longest cookie value read (a JWT of this shape is about 250 characters).
_MAX_COOKIE = 1024


class LinkRefused(Exception):
    """The token is malformed, unknown, used already or expired (one message for all: the
    caller learns nothing about which)."""


@dataclass(frozen=True)
class SessionCookies:
    """Signs and verifies the session cookie."""

    key: bytes
    ttl: float
    clock: Callable[[], float] = time.time

    @classmethod
    def from_api_key(
        cls, api_key: SecretStr | None, ttl: float, clock: Callable[[], float] = time.time
    ) -> SessionCookies | None:
        """None without ``API_KEY``: there is no local admin to sign in."""
        if api_key is None:
            return None
        secret = api_key.get_secret_value().encode()
        return cls(hmac.new(secret, _DERIVE, hashlib.sha256).digest(), ttl, clock)

    def issue(self) -> str:
        now = int(self.clock())
        claims = {
            "sub": ADMIN.name,
            "aud": _AUDIENCE,
            "iat": now,
            "exp": now + int(self.ttl),
            "jti": secrets.token_urlsafe(12),
        }
        return jwt.encode(claims, self.key, algorithm=_ALGORITHM)

    def verify(self, value: str) -> Principal:
        """The admin, or :class:`AuthError` (forged, altered, expired or malformed)."""
        if len(value) > _MAX_COOKIE:
            raise AuthError("the sign-in session is not valid: sign in again")
        try:
            claims = jwt.decode(
                value,
                self.key,
                algorithms=[_ALGORITHM],
                audience=_AUDIENCE,
                options={"require": ["exp", "iat", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("the sign-in session has expired: sign in again") from None
        except jwt.PyJWTError:
            raise AuthError("the sign-in session is not valid: sign in again") from None
        if claims.get("sub") != ADMIN.name:
            raise AuthError("the sign-in session is not valid: sign in again")
        return ADMIN


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


class SignInLinks:
    """Single-use sign-in tokens kept (as digests) in Redis."""

    def __init__(
        self,
        redis: GuardedRedis,
        *,
        namespace: str = "",
        ttl: float = 900.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._prefix = f"{namespace}meshq:ui:link:"
        self.ttl = ttl
        self._clock = clock

    async def mint(self, ttl: float | None = None) -> tuple[str, float]:
        """A new token and when it expires (epoch seconds); ``ttl`` at most the configured one."""
        lifetime = min(ttl if ttl is not None else self.ttl, self.ttl)
        link_id, secret = secrets.token_urlsafe(12), secrets.token_urlsafe(32)
        expires_at = self._clock() + lifetime
        record = json.dumps({"digest": _digest(secret), "expires_at": expires_at})
        key = self._prefix + link_id
        client = self._redis.client
        await self._redis.call(
            "ui link set", lambda: client.set(key, record, px=max(1, int(lifetime * 1000)))
        )
        return f"{link_id}.{secret}", expires_at

    async def redeem(self, token: str) -> None:
        """Use ``token`` up; :class:`LinkRefused` unless this call is its first valid use.
        ``RedisUnavailable`` when Redis does not answer (nothing is used up then)."""
        match = _TOKEN.match(token)
        if match is None:
            raise LinkRefused
        link_id, secret = match.groups()
        key = self._prefix + link_id
        client = self._redis.client
        raw = await self._redis.call("ui link get", lambda: client.get(key))
        if raw is None:
            raise LinkRefused
        try:
            record: dict[str, Any] = json.loads(raw)
            stored = str(record["digest"]).encode("ascii")
            expires_at = float(record["expires_at"])
        except (ValueError, KeyError, TypeError, UnicodeEncodeError):
            raise LinkRefused from None
        if not hmac.compare_digest(_digest(secret).encode("ascii"), stored):
            raise LinkRefused
        removed = await self._redis.call("ui link use", lambda: client.delete(key))
        if not removed or self._clock() >= expires_at:
            raise LinkRefused
