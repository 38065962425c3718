"""A local OpenID Connect provider for the web UI's single sign-on tests (Entra ID cannot run
here): the authorization endpoint of OIDC Core 3.1.2 (it signs in one configured user at once
and sends the browser back with a code), the token endpoint (3.1.3, checking the PKCE verifier
of RFC 7636 with S256, the client id and the redirect URI), and the key set. ID tokens are RS256
with ``iss``, ``aud`` (the client id), ``nonce``, times, ``preferred_username`` and ``groups``."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["OidcProvider"]


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str


@dataclass
class OidcProvider:
    client_id: str = "meshq-ui"
    user: str = "ana@example.test"
    groups: list[str] = field(default_factory=list)
    #: What the next authorization answers instead of a code (an OAuth ``error``), if set.
    refuse_with: str | None = None
    #: A nonce the next ID token carries instead of the one asked for, if set.
    wrong_nonce: str | None = None
    token_requests: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "idp-key-1"
        self._grants: dict[str, _Grant] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == "/keys":
                    self._json(200, {"keys": [outer.jwk()]})
                elif url.path == "/authorize":
                    self._redirect(outer.authorize(parse_qs(url.query)))
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                status, body = outer.token(form)
                self._json(status, body)

            def _json(self, status: int, body: Any) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _redirect(self, location: str) -> None:
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.issuer = self.base
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def env(self, audience: str) -> dict[str, str]:
        """The gateway's settings for this provider (tokens for ``audience`` on the API)."""
        return {
            "OIDC_ISSUER": self.issuer,
            "OIDC_AUDIENCE": audience,
            "OIDC_JWKS_URL": f"{self.base}/keys",
            "OIDC_CLIENT_ID": self.client_id,
            "OIDC_AUTHORIZE_URL": f"{self.base}/authorize",
            "OIDC_TOKEN_URL": f"{self.base}/token",
        }

    def jwk(self) -> dict[str, Any]:
        data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {**data, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def authorize(self, query: dict[str, list[str]]) -> str:
        one = {k: v[0] for k, v in query.items()}
        redirect = one["redirect_uri"]
        state = one.get("state", "")
        if self.refuse_with:
            error, self.refuse_with = self.refuse_with, None
            return f"{redirect}?{urlencode({'error': error, 'state': state})}"
        assert one["response_type"] == "code" and one["code_challenge_method"] == "S256"
        assert "openid" in one["scope"].split()
        code = secrets.token_urlsafe(16)
        self._grants[code] = _Grant(
            one["client_id"], redirect, one["code_challenge"], one.get("nonce", "")
        )
        return f"{redirect}?{urlencode({'code': code, 'state': state})}"

    def token(self, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        one = {k: v[0] for k, v in form.items()}
        self.token_requests.append(one)
        grant = self._grants.pop(one.get("code", ""), None)  # a code works once
        if grant is None or one.get("grant_type") != "authorization_code":
            return 400, {"error": "invalid_grant", "error_description": "unknown or used code"}
        digest = hashlib.sha256(one.get("code_verifier", "").encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).decode().rstrip("=")
        if challenge != grant.challenge:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verifier mismatch"}
        if one.get("client_id") != grant.client_id or one.get("redirect_uri") != grant.redirect_uri:
            return 400, {"error": "invalid_grant", "error_description": "client or redirect"}
        now = int(time.time())
        nonce, self.wrong_nonce = self.wrong_nonce or grant.nonce, None
        claims = {
            "iss": self.issuer,
            "aud": grant.client_id,
            "sub": "user-1",
            "preferred_username": self.user,
            "groups": list(self.groups),
            "nonce": nonce,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
        }
        token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})
        return 200, {"id_token": token, "token_type": "Bearer", "expires_in": 600}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
