"""A web UI session of single sign-on follows the plan like a bearer token does: on a plan
without ``oidc_sso`` the sign-in still names the user, but ``GET /ui/session`` says in words why
every call is refused and the calls answer 403 naming the flag; once the plan has it, the same
session works."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx
import pytest
from gateway_support import ADMIN_KEY, problem, publish_license
from support.oidc_provider import OidcProvider

pytestmark = pytest.mark.integration


async def _until(check: Callable[[], Awaitable[bool]], *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "deadline passed"
        await asyncio.sleep(0.1)


async def test_a_sign_on_session_says_when_the_plan_lacks_it(gateway_env, spawn) -> None:  # type: ignore[no-untyped-def]
    idp = OidcProvider(groups=["Network-Ops"])
    try:
        await publish_license(gateway_env, "pro", revision=1)
        env = {**gateway_env, "AUTH_MODE": "both", **idp.env(audience="api://meshq")}
        gw = spawn("meshq_query_gateway", env).wait_healthy()
        admin = {"X-API-Key": ADMIN_KEY}
        async with httpx.AsyncClient(base_url=gw.url, timeout=30) as client:

            async def plan_is(plan: str) -> bool:
                return (await client.get("/license", headers=admin)).json()["plan"] == plan

            await _until(lambda: plan_is("pro"), timeout=20)
            start = await client.get("/ui/oidc/start")
            assert start.status_code == 303
            back = await client.get(start.headers["location"])  # the provider, at once
            done = await client.get(back.headers["location"])
            assert done.status_code == 303, done.text
            me = (await client.get("/ui/session")).json()
            assert me["signed_in"] and me["name"] == "ana@example.test"
            assert "oidc_sso" in me["problem"] and "pro plan" in me["problem"]
            refused = await client.get("/queries")
            assert refused.status_code == 403 and problem(refused)["feature"] == "oidc_sso"
            await publish_license(gateway_env, "enterprise", revision=2)
            await _until(lambda: plan_is("enterprise"), timeout=20)
            assert (await client.get("/queries")).status_code == 200
            assert "problem" not in (await client.get("/ui/session")).json()
    finally:
        idp.close()
