"""Entra-style OIDC through a real gateway (AUTH_MODE=both): the oidc_sso gate follows the plan,
token groups drive RBAC, and an edited policy file is picked up by the periodic re-read."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from gateway_support import ADMIN_KEY, JwksServer, problem, publish_license

pytestmark = pytest.mark.integration

ISSUER = "https://login.example.test/tenant-t/v2.0"
POLICY = """
roles:
  network: ["topology_*"]
groups:
  "Network-Ops": [network]
"""


async def _until(check, *, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "deadline passed"
        await asyncio.sleep(0.1)


async def test_oidc_identities_gated_and_authorised(gateway_env, spawn, tmp_path: Path) -> None:
    idp = JwksServer(ISSUER, "client-c")
    policy = tmp_path / "rbac.yaml"
    policy.write_text(POLICY)
    try:
        await publish_license(gateway_env, "pro", revision=1)
        env = {
            **gateway_env,
            "AUTH_MODE": "both",
            "OIDC_ISSUER": ISSUER,
            "OIDC_AUDIENCE": "client-c",
            "OIDC_JWKS_URL": idp.url,
            "RBAC_POLICY_FILE": str(policy),
            "RBAC_RELOAD_INTERVAL": "0.2",
        }
        gw = spawn("meshq_query_gateway", env).wait_healthy()
        bearer = {"Authorization": f"Bearer {idp.token('Network-Ops')}"}
        admin = {"X-API-Key": ADMIN_KEY}
        async with httpx.AsyncClient(base_url=gw.url, timeout=10) as client:

            async def plan_is(plan: str) -> bool:
                return (await client.get("/license", headers=admin)).json()["plan"] == plan

            await _until(lambda: plan_is("pro"), timeout=20)
            refused = await client.post("/queries/topology_edges", headers=bearer)
            assert refused.status_code == 403
            assert (problem(refused)["feature"], problem(refused)["plans"]) == (
                "oidc_sso",
                ["enterprise"],
            )

            await publish_license(gateway_env, "enterprise", revision=2)
            await _until(lambda: plan_is("enterprise"), timeout=20)
            assert (await client.post("/queries/topology_edges", headers=bearer)).status_code == 200
            denied = await client.post("/queries/orphaned_ips", headers=bearer)
            assert denied.status_code == 403 and problem(denied)["resource"] == "orphaned_ips"
            assert (await client.post("/queries/orphaned_ips", headers=admin)).status_code == 200

            wrong = {"Authorization": "Bearer " + idp.token("Network-Ops")[:-3] + "abc"}
            assert (await client.get("/queries", headers=wrong)).status_code == 401

            policy.write_text(POLICY.replace('["topology_*"]', '["topology_*", "orphaned_*"]'))

            async def picked_up() -> bool:
                response = await client.post("/queries/orphaned_ips", headers=bearer)
                return response.status_code == 200

            await _until(picked_up, timeout=10)  # no reload call: the periodic re-read
    finally:
        idp.close()
