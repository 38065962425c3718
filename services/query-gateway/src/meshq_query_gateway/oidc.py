"""OIDC bearer tokens (Microsoft Entra ID, or any provider with a JWKS): RS256 only.

``ENTRA_TENANT_ID`` and ``ENTRA_CLIENT_ID`` give the issuer, the audience and the JWKS address;
``OIDC_ISSUER``, ``OIDC_AUDIENCE`` and ``OIDC_JWKS_URL`` override them. The key set is cached for
an hour and fetched again when a token names an unknown ``kid`` — at most once a minute, so a
flood of made-up kids cannot hammer the identity provider. ``groups`` and ``roles`` claims become
the caller's RBAC groups.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import structlog

from meshq_query_gateway.auth import AuthError, Principal

__all__ = ["OidcVerifier", "entra_endpoints", "principal_of_claims"]

log = structlog.get_logger(__name__)

_ALGORITHMS = ["RS256"]


def entra_endpoints(tenant: str, client_id: str) -> tuple[str, list[str], str]:
    """Issuer, accepted audiences and JWKS address of an Entra ID (v2.0) app registration."""
    base = f"https://login.microsoftonline.com/{tenant}"
    return f"{base}/v2.0", [client_id, f"api://{client_id}"], f"{base}/discovery/v2.0/keys"


class OidcVerifier:
    def __init__(
        self,
        *,
        issuer: str,
        audiences: list[str],
        jwks_url: str,
        http: httpx.AsyncClient | None = None,
        leeway: float = 60.0,
        cache_ttl: float = 3600.0,
        min_refresh: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer, self.audiences, self.jwks_url = issuer, audiences, jwks_url
        self._http = http
        self._leeway = leeway
        self._ttl = cache_ttl
        self._min_refresh = min_refresh
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def verify(self, token: str) -> Principal:
        return principal_of_claims(await self.claims(token))

    async def claims(self, token: str, *, audiences: list[str] | None = None) -> dict[str, Any]:
        """The token's claims once its signature, issuer, audience (``audiences``, else the
        configured ones) and times are checked; :class:`AuthError` says what failed."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("the bearer token is not a JWT") from None
        if header.get("alg") not in _ALGORITHMS:
            raise AuthError(f"tokens must be signed with RS256, not {header.get('alg')!r}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("the token names no signing key (kid)")
        key = await self._key(kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=_ALGORITHMS,
                audience=audiences or self.audiences,
                issuer=self.issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise AuthError("the token is not valid yet (nbf)") from None
        except jwt.InvalidAudienceError:
            raise AuthError("the token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise AuthError("the token is from another issuer") from None
        except jwt.PyJWTError as exc:
            raise AuthError(f"the token is not valid ({type(exc).__name__})") from None
        if not isinstance(claims, dict):
            raise AuthError("the token's claims are not an object")
        return claims

    async def _key(self, kid: str) -> Any:
        now = self._clock()
        stale = self._fetched_at is None or now - self._fetched_at > self._ttl
        if stale or kid not in self._keys:
            async with self._lock:
                now = self._clock()
                stale = self._fetched_at is None or now - self._fetched_at > self._ttl
                may_refresh = (
                    self._fetched_at is None or now - self._fetched_at >= self._min_refresh
                )
                if stale or (kid not in self._keys and may_refresh):
                    await self._fetch()
        key = self._keys.get(kid)
        if key is None:
            raise AuthError("the token's signing key (kid) is not one the identity provider lists")
        return key

    async def _fetch(self) -> None:
        self._fetched_at = self._clock()
        self.fetches += 1
        try:
            if self._http is not None:
                response = await self._http.get(self.jwks_url, timeout=5.0)
            else:
                async with httpx.AsyncClient(timeout=5.0) as client:
                    response = await client.get(self.jwks_url)
            response.raise_for_status()
            keys: dict[str, Any] = {}
            for entry in response.json().get("keys", []):
                if entry.get("kty") != "RSA" or not entry.get("kid"):
                    continue
                if entry.get("use", "sig") != "sig":
                    continue
                keys[str(entry["kid"])] = jwt.PyJWK(entry, algorithm="RS256").key
        except (httpx.HTTPError, ValueError, AttributeError, jwt.PyJWTError) as exc:
            log.warning("oidc.jwks_unavailable", url=self.jwks_url, error=type(exc).__name__)
            return
        self._keys = keys
        log.info("oidc.jwks_loaded", url=self.jwks_url, keys=len(keys))


def principal_of_claims(claims: dict[str, Any]) -> Principal:
    name = next(
        (
            str(claims[c])
            for c in ("preferred_username", "upn", "email", "oid", "sub")
            if isinstance(claims.get(c), str) and claims[c]
        ),
        "unknown",
    )
    groups: set[str] = set()
    for claim in ("groups", "roles"):
        value = claims.get(claim)
        if isinstance(value, str):
            groups.add(value)
        elif isinstance(value, list):
            groups.update(str(v) for v in value if isinstance(v, str | int))
    return Principal(name, "oidc", frozenset(groups))
