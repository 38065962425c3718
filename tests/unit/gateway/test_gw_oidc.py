"""OIDC tokens against a local JWKS server with keys made here: what is accepted, what is not,
key rotation by unknown kid, and a flood of made-up kids kept to bounded refreshes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from litestar import Request, get
from litestar.testing import TestClient
from meshq_query_gateway.auth import ApiKeyMiddleware, AuthError, principal_of
from meshq_query_gateway.oidc import OidcVerifier
from meshq_runtime.http import build_app
from pydantic import SecretStr

ISSUER = "https://login.example.test/tenant-1/v2.0"
AUDIENCE = "client-1"


class Jwks:
    """A JWKS endpoint on a free local port; ``keys`` can be swapped to rotate."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                body = json.dumps({"keys": [outer.jwk(k) for k in outer.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/keys"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, kid: str) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self, kid: str) -> dict[str, Any]:
        data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.keys[kid].public_key()))
        return {**data, "kid": kid, "use": "sig", "alg": "RS256"}

    def token(self, kid: str, **claims: Any) -> str:
        now = int(time.time())
        body = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "u-1",
            "preferred_username": "ana@example.test",
            "groups": ["Network-Ops"],
            "roles": ["readonly"],
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            **claims,
        }
        return jwt.encode(body, self.keys[kid], algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def jwks() -> Iterator[Jwks]:
    server = Jwks()
    server.add("k1")
    yield server
    server.server.shutdown()
    server.server.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _verifier(jwks: Jwks, clock: Clock | None = None) -> OidcVerifier:
    return OidcVerifier(
        issuer=ISSUER,
        audiences=[AUDIENCE],
        jwks_url=jwks.url,
        leeway=5,
        clock=clock or Clock(),
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_valid_token_maps_groups_and_roles(jwks: Jwks) -> None:
    who = await _verifier(jwks).verify(jwks.token("k1"))
    assert (who.name, who.auth_method) == ("ana@example.test", "oidc")
    assert who.groups == {"Network-Ops", "readonly"} and not who.admin_key


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": -120}, "expired"),
        ({"nbf": 600}, "not valid yet"),
        ({"aud": "someone-else"}, "another audience"),
        ({"iss": "https://evil.example.test/"}, "another issuer"),
    ],
)
async def test_refused_claims(jwks: Jwks, claims: dict[str, Any], reason: str) -> None:
    # Times are offsets from when the test runs, not from when it was collected.
    now = int(time.time())
    claims = {k: now + v if k in ("exp", "nbf") else v for k, v in claims.items()}
    with pytest.raises(AuthError, match=reason):
        await _verifier(jwks).verify(jwks.token("k1", **claims))


async def test_alg_none_and_hs256_with_the_public_key_are_refused(jwks: Jwks) -> None:
    good = jwks.token("k1")
    payload = good.split(".")[1]
    none = _b64(json.dumps({"alg": "none", "kid": "k1"}).encode()) + "." + payload + "."
    with pytest.raises(AuthError, match="RS256"):
        await _verifier(jwks).verify(none)
    pem = (
        jwks.keys["k1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    signing_input = _b64(json.dumps({"alg": "HS256", "kid": "k1"}).encode()) + "." + payload
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(AuthError, match="RS256"):
        await _verifier(jwks).verify(signing_input + "." + _b64(mac))
    tampered = good[:-6] + ("AAAAAA" if not good.endswith("AAAAAA") else "BBBBBB")
    with pytest.raises(AuthError, match="not valid"):
        await _verifier(jwks).verify(tampered)
    with pytest.raises(AuthError, match="not a JWT"):
        await _verifier(jwks).verify("garbage")


async def test_rotation_refreshes_once_on_an_unknown_kid(jwks: Jwks) -> None:
    clock = Clock()
    verifier = _verifier(jwks, clock)
    await verifier.verify(jwks.token("k1"))
    assert jwks.hits == 1
    jwks.add("k2")  # the provider rotates
    del jwks.keys["k1"]
    clock.now += 61  # a minute after the last fetch
    who = await verifier.verify(jwks.token("k2"))
    assert who.name == "ana@example.test" and jwks.hits == 2
    await verifier.verify(jwks.token("k2"))
    assert jwks.hits == 2  # cached


async def test_a_flood_of_unknown_kids_is_bounded(jwks: Jwks) -> None:
    clock = Clock()
    verifier = _verifier(jwks, clock)
    await verifier.verify(jwks.token("k1"))
    for i in range(50):
        forged = jwt.encode(
            {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60},
            jwks.keys["k1"],
            algorithm="RS256",
            headers={"kid": f"made-up-{i}"},
        )
        with pytest.raises(AuthError, match="kid"):
            await verifier.verify(forged)
    assert jwks.hits == 1  # no refresh within the minute
    clock.now += 61
    forged = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60},
        jwks.keys["k1"],
        algorithm="RS256",
        headers={"kid": "still-made-up"},
    )
    for _ in range(20):
        with pytest.raises(AuthError):
            await verifier.verify(forged)
    assert jwks.hits == 2  # one refresh per minute at most
    clock.now += 3601
    await verifier.verify(jwks.token("k1"))
    assert jwks.hits == 3  # hourly refresh


@get("/whoami")
async def whoami(request: Request) -> dict[str, Any]:  # type: ignore[type-arg]
    who = principal_of(request.scope)
    assert who is not None
    return {"name": who.name, "method": who.auth_method}


def test_auth_modes_through_the_middleware(jwks: Jwks) -> None:
    def client(mode: str) -> TestClient:  # type: ignore[type-arg]
        middleware = ApiKeyMiddleware(SecretStr("admin-key"), oidc=_verifier(jwks), mode=mode)
        return TestClient(
            build_app(service="gw", route_handlers=[whoami], middleware_extra=[middleware])
        )

    bearer = {"Authorization": f"Bearer {jwks.token('k1')}"}
    key = {"X-API-Key": "admin-key"}
    with client("both") as both:
        assert both.get("/whoami", headers=bearer).json()["method"] == "oidc"
        assert both.get("/whoami", headers=key).json()["method"] == "api_key"
        missing = both.get("/whoami")
        assert missing.status_code == 401 and "Bearer" in missing.json()["detail"]
    with client("oidc") as oidc:
        assert oidc.get("/whoami", headers=key).status_code == 401
        assert oidc.get("/whoami", headers=bearer).status_code == 200
        expired = {"Authorization": f"Bearer {jwks.token('k1', exp=int(time.time()) - 120)}"}
        refused = oidc.get("/whoami", headers=expired)
        assert refused.status_code == 401 and refused.json()["detail"] == "the token has expired"
        assert refused.headers["www-authenticate"].startswith("Bearer")
    with client("api_key") as api_key:
        assert api_key.get("/whoami", headers=bearer).status_code == 401
