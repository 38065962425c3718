"""One-time sign-in links (on the machine's Redis) and the session cookie: a link works once
and not after its expiry; a cookie that was altered, forged with another key, or has expired is
refused; the cookie authenticates as the admin key only when no other credential is sent."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from litestar import Litestar, Request, get, post
from litestar.testing import TestClient
from meshq_query_gateway.auth import (
    ADMIN,
    SESSION_COOKIE,
    ApiKeyMiddleware,
    AuthError,
    principal_of,
)
from meshq_query_gateway.redis_guard import GuardedRedis
from meshq_query_gateway.ui.session import LinkRefused, SessionCookies, SignInLinks
from pydantic import SecretStr
from redis.asyncio import Redis

REDIS_URL = os.environ.get("MESHQ_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
KEY = SecretStr("unit-admin-" + "k" * 32)


@pytest.fixture
async def redis() -> AsyncIterator[GuardedRedis]:
    client = Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        await client.ping()
    except Exception as exc:  # pragma: no cover - the machine's Redis is part of the setup
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    yield GuardedRedis(client, timeout=1.0)
    await client.aclose()


def _links(redis: GuardedRedis, **kw: Any) -> SignInLinks:
    return SignInLinks(redis, namespace=f"t{uuid.uuid4().hex[:8]}.", **kw)


async def test_a_link_works_once(redis: GuardedRedis) -> None:
    links = _links(redis)
    token, expires_at = await links.mint()
    assert expires_at == pytest.approx(time.time() + links.ttl, abs=5)
    await links.redeem(token)
    with pytest.raises(LinkRefused):
        await links.redeem(token)


async def test_two_redeemers_racing_for_one_link_sign_in_once(redis: GuardedRedis) -> None:
    links = _links(redis)
    token, _ = await links.mint()
    outcomes = await asyncio.gather(
        *(links.redeem(token) for _ in range(8)), return_exceptions=True
    )
    assert sum(o is None for o in outcomes) == 1
    assert all(isinstance(o, LinkRefused) for o in outcomes if o is not None)


async def test_an_expired_link_is_refused_and_used_up(redis: GuardedRedis) -> None:
    now = [1_000_000.0]
    links = _links(redis, ttl=60.0, clock=lambda: now[0])
    token, expires_at = await links.mint()
    now[0] = expires_at  # the record is still in Redis, but its time is over
    with pytest.raises(LinkRefused):
        await links.redeem(token)
    now[0] = expires_at - 30
    with pytest.raises(LinkRefused):  # refused once expired: it was removed, not kept
        await links.redeem(token)


async def test_redis_forgets_a_link_after_its_life(redis: GuardedRedis) -> None:
    links = _links(redis, ttl=60.0)
    token, _ = await links.mint(ttl=1.0)  # a caller may ask for less than the configured life
    link_id = token.split(".")[0]
    ttl_ms = await redis.client.pttl(f"{links._prefix}{link_id}")
    assert 0 < ttl_ms <= 1000
    token, _ = await links.mint(ttl=3600.0)  # never more
    ttl_ms = await redis.client.pttl(f"{links._prefix}{token.split('.')[0]}")
    assert 59_000 < ttl_ms <= 60_000


async def test_a_wrong_secret_refuses_without_using_the_link_up(redis: GuardedRedis) -> None:
    links = _links(redis)
    token, _ = await links.mint()
    link_id, secret = token.split(".")
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for bad in (f"{link_id}.{wrong}", f"{link_id}", "", "x" * 60, f"{link_id}.{secret}x"):
        with pytest.raises(LinkRefused):
            await links.redeem(bad)
    await links.redeem(token)  # the right one still works, once


async def test_redis_keeps_only_a_digest_of_the_secret(redis: GuardedRedis) -> None:
    links = _links(redis)
    token, _ = await links.mint()
    link_id, secret = token.split(".")
    raw = await redis.client.get(f"{links._prefix}{link_id}")
    assert raw is not None
    record = json.loads(raw)
    assert secret not in json.dumps(record) and set(record) == {"digest", "expires_at"}


def test_the_cookie_stands_for_the_admin_and_expires() -> None:
    cookies = SessionCookies.from_api_key(KEY, ttl=3600)
    assert cookies is not None
    assert cookies.verify(cookies.issue()) is ADMIN
    old = SessionCookies(cookies.key, 3600, clock=lambda: time.time() - 7200)
    with pytest.raises(AuthError, match="expired"):
        cookies.verify(old.issue())
    assert SessionCookies.from_api_key(None, ttl=3600) is None


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_an_altered_or_forged_cookie_is_refused() -> None:
    cookies = SessionCookies.from_api_key(KEY, ttl=3600)
    assert cookies is not None
    value = cookies.issue()
    header, payload, signature = value.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    longer = _b64({**claims, "exp": claims["exp"] + 10**6})
    other = SessionCookies.from_api_key(SecretStr("another-admin-key-" + "x" * 20), ttl=3600)
    assert other is not None
    for bad in (
        f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}",
        f"{header}.{longer}.{signature}",
        f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        jwt.encode({**claims, "sub": "someone"}, cookies.key, algorithm="HS256"),
        jwt.encode({**claims, "aud": "elsewhere"}, cookies.key, algorithm="HS256"),
        other.issue(),
        "x" * 5000,
        "not-a-jwt",
    ):
        with pytest.raises(AuthError):
            cookies.verify(bad)


def _who(request: Request[Any, Any, Any]) -> dict[str, Any]:
    who = principal_of(request.scope)
    assert who is not None
    return {"name": who.name, "admin": who.admin_key}


@get("/whoami", sync_to_thread=False)
def whoami(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return _who(request)


@post("/change", sync_to_thread=False, status_code=200)
def change(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return _who(request)


def _app(cookies: SessionCookies | None, mode: str = "api_key") -> TestClient[Litestar]:
    middleware = ApiKeyMiddleware(KEY, mode=mode, sessions=cookies)
    return TestClient(Litestar([whoami, change], middleware=[middleware]))


def _cookie(value: str, **headers: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={value}", **headers}


def test_the_gateway_middleware_takes_the_cookie_as_the_admin() -> None:
    cookies = SessionCookies.from_api_key(KEY, ttl=3600)
    assert cookies is not None
    value = cookies.issue()
    with _app(cookies) as client:
        assert client.get("/whoami").status_code == 401
        answer = client.get("/whoami", headers=_cookie(value))
        assert answer.status_code == 200 and answer.json() == {"name": "admin", "admin": True}
        refused = client.get("/whoami", headers=_cookie(value[:-3] + "abc"))
        assert refused.status_code == 401 and "sign in again" in refused.json()["detail"]
        # a key sent with it decides: a wrong key is refused even with a good cookie
        wrong = client.get("/whoami", headers=_cookie(value, **{"X-API-Key": "wrong"}))
        assert wrong.status_code == 401
        # a change sent from another origin may not ride on the cookie
        same = client.post("/change", headers=_cookie(value, Origin="http://testserver.local"))
        assert same.status_code == 200
        cross = client.post("/change", headers=_cookie(value, Origin="http://evil.example"))
        assert cross.status_code == 401


def test_no_cookie_sign_in_where_api_keys_are_off() -> None:
    cookies = SessionCookies.from_api_key(KEY, ttl=3600)
    assert cookies is not None
    with _app(cookies, mode="oidc") as client:
        assert client.get("/whoami", headers=_cookie(cookies.issue())).status_code == 401
