"""Helpers for the gateway's integration tests: named keys, license events, problems."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from network_discovery.cli.apikey import apikey
from support.license import publish_license

__all__ = ["ADMIN_KEY", "JwksServer", "make_key", "problem", "publish_license"]

ADMIN_KEY = "gw-admin-" + "k" * 32


def make_key(keys_file: Path, name: str, *groups: str) -> str:
    args = ["create", name, "--file", str(keys_file)]
    for group in groups:
        args += ["--group", group]
    result = CliRunner().invoke(apikey, args)
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[0]


def problem(response: Any) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body: dict[str, Any] = json.loads(response.text)
    return body


class JwksServer:
    """A local identity provider's key set: RSA keys made in the test, served over HTTP."""

    def __init__(self, issuer: str, audience: str) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from cryptography.hazmat.primitives.asymmetric import rsa

        self.issuer, self.audience = issuer, audience
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-key-1"
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = json.dumps({"keys": [outer.jwk()]}).encode()
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

    def jwk(self) -> dict[str, Any]:
        import jwt

        data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {**data, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def token(self, *groups: str, user: str = "ana@example.test") -> str:
        import time

        import jwt

        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "preferred_username": user,
            "groups": list(groups),
            "iat": now,
            "nbf": now,
            "exp": now + 600,
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
