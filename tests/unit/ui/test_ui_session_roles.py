"""The session cookie names the principal that signed in: a named key is read back from the key
file on every request (revoked: refused), an OIDC identity keeps its name and groups, the admin
only where the cookie key comes from ``API_KEY``; the middleware takes a session only for a way
of signing in that the gateway still accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from litestar import Litestar, Request, get
from litestar.testing import TestClient
from meshq_query_gateway.apikeys import KeyFile
from meshq_query_gateway.auth import (
    ADMIN,
    SESSION_COOKIE,
    ApiKeyMiddleware,
    AuthError,
    KeyChecker,
    Principal,
    principal_of,
)
from meshq_query_gateway.ui.session import MAX_COOKIE, SessionCookies
from network_discovery.cli.apikey import apikey
from pydantic import SecretStr

KEY = SecretStr("unit-admin-" + "r" * 32)
SERVICE_SECRET = "s" * 48


def _key(path: Path, name: str, *groups: str) -> str:
    args = ["create", name, "--file", str(path)]
    for group in groups:
        args += ["--group", group]
    result = CliRunner().invoke(apikey, args)
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[0]


def _file(path: Path) -> KeyFile:
    return KeyFile(path, check_every=0.0)


def test_a_named_key_session_is_that_key_until_it_is_revoked(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    token = _key(path, "viewer", "Viewers", "Audit")
    keys = _file(path)
    cookies = SessionCookies.from_api_key(KEY, 3600, keys=keys)
    assert cookies is not None
    who = KeyChecker(KEY, keys).check(token.encode())
    value = cookies.issue(who)
    assert token not in value
    back = cookies.verify(value)
    assert (back.name, back.auth_method, back.groups) == (
        "viewer",
        "api_key",
        frozenset({"Viewers", "Audit"}),
    )
    assert not back.admin_key and back.key_id == who.key_id
    result = CliRunner().invoke(apikey, ["revoke", "viewer", "--file", str(path)])
    assert result.exit_code == 0, result.output
    with pytest.raises(AuthError, match="revoked"):
        cookies.verify(value)


def test_an_oidc_session_keeps_its_name_and_groups() -> None:
    cookies = SessionCookies.from_service_secret(SERVICE_SECRET, 3600)
    who = Principal("ana@example.test", "oidc", frozenset({"Security-Team", "NetOps"}))
    back = cookies.verify(cookies.issue(who))
    assert back == who
    # groups beyond what a browser keeps in a cookie: refused, saying why
    crowd = Principal(
        "bob@example.test", "oidc", frozenset(f"group-{i:04d}-" + "g" * 30 for i in range(120))
    )
    with pytest.raises(AuthError, match="too many groups"):
        cookies.issue(crowd)
    assert len(cookies.issue(Principal("c", "oidc", frozenset({"a"})))) < MAX_COOKIE


def test_no_admin_session_without_the_admin_key() -> None:
    from_admin = SessionCookies.from_api_key(KEY, 3600)
    assert from_admin is not None and from_admin.verify(from_admin.issue()) is ADMIN
    service = SessionCookies.from_service_secret(SERVICE_SECRET, 3600)
    forged = SessionCookies(service.key, 3600, admin=True)  # the same key, claiming the admin
    with pytest.raises(AuthError):
        service.verify(forged.issue(ADMIN))
    # a cookie made under one key is refused under the other
    with pytest.raises(AuthError):
        service.verify(from_admin.issue(Principal("x", "oidc")))


def test_a_principal_without_a_key_or_token_opens_no_session() -> None:
    cookies = SessionCookies.from_service_secret(SERVICE_SECRET, 3600)
    with pytest.raises(AuthError):
        cookies.issue(Principal("someone", "api_key"))


@get("/whoami", sync_to_thread=False)
def whoami(request: Request[Any, Any, Any]) -> dict[str, Any]:
    who = principal_of(request.scope)
    assert who is not None
    return {"name": who.name, "method": who.auth_method, "groups": sorted(who.groups)}


class _NoTokens:
    async def verify(self, token: str) -> Principal:
        raise AuthError("no tokens in this test")


@pytest.mark.parametrize(
    ("mode", "oidc_ok", "key_ok"),
    [("api_key", False, True), ("oidc", True, False), ("both", True, True)],
)
def test_the_middleware_takes_a_session_only_for_a_way_it_accepts(
    tmp_path: Path, mode: str, oidc_ok: bool, key_ok: bool
) -> None:
    path = tmp_path / "keys.json"
    token = _key(path, "ops", "NetOps")
    keys = _file(path)
    cookies = SessionCookies.from_service_secret(SERVICE_SECRET, 3600, keys=keys)
    oidc_value = cookies.issue(Principal("ana@example.test", "oidc", frozenset({"NetOps"})))
    key_value = cookies.issue(KeyChecker(None, keys).check(token.encode()))
    middleware = ApiKeyMiddleware(None, keys, oidc=_NoTokens(), mode=mode, sessions=cookies)
    with TestClient(Litestar([whoami], middleware=[middleware])) as client:
        answer = client.get("/whoami", headers={"Cookie": f"{SESSION_COOKIE}={oidc_value}"})
        assert answer.status_code == (200 if oidc_ok else 401)
        if oidc_ok:
            assert answer.json() == {
                "name": "ana@example.test",
                "method": "oidc",
                "groups": ["NetOps"],
            }
        answer = client.get("/whoami", headers={"Cookie": f"{SESSION_COOKIE}={key_value}"})
        assert answer.status_code == (200 if key_ok else 401)
        if key_ok:
            assert answer.json()["name"] == "ops"
