"""One-time sign-in links and the web UI's session cookie.

The local admin (the ``API_KEY`` holder, e.g. ``meshq serve``) asks for a link; opening it once
exchanges it for a session cookie, so that no API key is ever put in a URL.

- A link's token is ``<id>.<secret>``, both random. Redis keeps, under the id, the SHA-256 of
  the secret and the expiry (and expires the key itself), so every gateway pod can redeem it and
  none keeps the secret. Redeeming reads the record, compares digests in constant time, checks
  the expiry, then deletes the key: only the caller whose delete removed it is signed in, so a
  token works once, even when two pods race for it.
- The cookie (``meshq_session``) is a JWT (HS256, PyJWT) with ``exp``, signed with a key
  derived from ``API_KEY`` (else from the services' shared credential): every pod verifies it,
  and changing the admin key ends every session. It names the principal that signed in and how:
  the admin (a one-time link, or the admin key in the sign-in form), a named API key (by its id:
  its name and groups are read from the key file on every request, so revoking the key ends
  the session), or an OIDC identity (its name and the groups its token carried). It is
  ``HttpOnly`` and ``SameSite=Strict`` (``Secure`` over HTTPS), and is accepted only when no
  other credential is sent.

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

from meshq_query_gateway.apikeys import KeyFile
from meshq_query_gateway.auth import ADMIN, SESSION_COOKIE, AuthError, Principal
from meshq_query_gateway.redis_guard import GuardedRedis

__all__ = [
    "COOKIE",
    "MAX_COOKIE",
    "LinkRefused",
    "SessionCookies",
    "SignInLinks",
]

#: The session cookie's name (the auth middleware reads it).
COOKIE = SESSION_COOKIE

_AUDIENCE = "meshoptixiq-ui"
_ALGORITHM = "HS256"
_DERIVE = b"meshoptixiq ui session cookie v1"
_DERIVE_SERVICE = b"meshoptixiq ui session cookie (service credential) v1"
#: ``<id>.<secret>``: URL-safe base64 of 12 and 32 random bytes.
_TOKEN = re.compile(r"^([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$")
#: Longest cookie value made or read (browsers keep at most 4 KiB per cookie).
MAX_COOKIE = 3_800
#: Longest principal name and group name a session carries.
_MAX_NAME = 256
_API_KEY, _OIDC = "api_key", "oidc"


class LinkRefused(Exception):
    """The token is malformed, unknown, used already or expired (one message for all: the
    caller learns nothing about which)."""


@dataclass(frozen=True)
class SessionCookies:
    """Signs and verifies the session cookie. ``admin``: the key was derived from ``API_KEY``
    (only then is an admin session accepted); ``keys``: the named keys, to resolve a session
    opened with one."""

    key: bytes
    ttl: float
    clock: Callable[[], float] = time.time
    admin: bool = True
    keys: KeyFile | None = None

    @classmethod
    def from_api_key(
        cls,
        api_key: SecretStr | None,
        ttl: float,
        clock: Callable[[], float] = time.time,
        *,
        keys: KeyFile | None = None,
    ) -> SessionCookies | None:
        """None without ``API_KEY``: there is no local admin to sign in."""
        if api_key is None:
            return None
        secret = api_key.get_secret_value().encode()
        return cls(hmac.new(secret, _DERIVE, hashlib.sha256).digest(), ttl, clock, True, keys)

    @classmethod
    def from_service_secret(
        cls,
        secret: str,
        ttl: float,
        clock: Callable[[], float] = time.time,
        *,
        keys: KeyFile | None = None,
    ) -> SessionCookies:
        """Without ``API_KEY`` (named keys, OIDC): a key derived from the services' shared
        credential, which every gateway pod holds; admin sessions are refused."""
        derived = hmac.new(secret.encode(), _DERIVE_SERVICE, hashlib.sha256).digest()
        return cls(derived, ttl, clock, False, keys)

    def issue(self, who: Principal = ADMIN) -> str:
        """A cookie value for ``who``; :class:`AuthError` when it would not fit in a cookie
        (an identity with very many groups)."""
        now = int(self.clock())
        claims: dict[str, Any] = {
            "sub": who.name[:_MAX_NAME],
            "aud": _AUDIENCE,
            "iat": now,
            "exp": now + int(self.ttl),
            "jti": secrets.token_urlsafe(12),
            "mth": _OIDC if who.auth_method == _OIDC else _API_KEY,
        }
        if who.auth_method == _OIDC:
            claims["grp"] = sorted(g[:_MAX_NAME] for g in who.groups)
        else:
            claims["key"] = "admin" if who.admin_key else who.key_id
            if claims["key"] is None:
                raise AuthError("only an API key or an OIDC identity can open a session")
        value = jwt.encode(claims, self.key, algorithm=_ALGORITHM)
        if len(value) > MAX_COOKIE:
            raise AuthError(
                f"your identity carries too many groups ({len(who.groups)}) for a browser "
                "session: ask for the app's roles claim instead of group membership"
            )
        return value

    def verify(self, value: str) -> Principal:
        """The principal the session stands for, or :class:`AuthError` (forged, altered,
        expired, malformed, or opened with a key that is now revoked)."""
        if len(value) > MAX_COOKIE:
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
        name, method = claims.get("sub"), claims.get("mth", _API_KEY)
        if not isinstance(name, str) or not name:
            raise AuthError("the sign-in session is not valid: sign in again")
        if method == _OIDC:
            groups = claims.get("grp", [])
            if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
                raise AuthError("the sign-in session is not valid: sign in again")
            return Principal(name, _OIDC, frozenset(groups))
        key = claims.get("key", ADMIN.key_id)  # sessions made before named keys: the admin
        if method != _API_KEY or not isinstance(key, str):
            raise AuthError("the sign-in session is not valid: sign in again")
        if key == ADMIN.key_id:
            if name != ADMIN.name or not self.admin:
                raise AuthError("the sign-in session is not valid: sign in again")
            return ADMIN
        entry = self.keys.by_id(key) if self.keys is not None else None
        if entry is None or entry.name != name:
            raise AuthError("the API key of this session was revoked: sign in again")
        return Principal(entry.name, _API_KEY, entry.groups, key_id=entry.id)


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
