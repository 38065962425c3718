"""License gates through a real gateway: Community (admin key only, community queries), a plan
published by the agent opening the API, /license and /health/platform."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from gateway_support import ADMIN_KEY, make_key, problem, publish_license

pytestmark = pytest.mark.integration


async def _until(check, *, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "deadline passed"
        await asyncio.sleep(0.1)


async def test_community_then_pro(gateway_env, keys_file, spawn) -> None:
    named = make_key(keys_file, "ci", "Network-Ops")
    gw = spawn("meshq_query_gateway", gateway_env).wait_healthy()
    admin = {"X-API-Key": ADMIN_KEY}
    async with httpx.AsyncClient(base_url=gw.url, timeout=10) as client:
        lic = (await client.get("/license", headers=admin)).json()
        assert lic["plan"] == "community" and lic["features"]["api_access"] is False

        listed = (await client.get("/queries", headers=admin)).json()
        assert listed and all(q["community"] for q in listed)
        assert {"all_devices", "topology_edges"} <= {q["name"] for q in listed}

        ran = await client.post("/queries/all_devices", headers=admin, json={})
        assert ran.status_code == 200, ran.text
        assert ran.json()["rows"] == [] and ran.json()["next_cursor"] is None

        refused = await client.post("/queries/orphaned_ips", headers=admin, json={})
        assert refused.status_code == 403
        body = problem(refused)
        assert (body["feature"], body["plan"], body["plans"]) == (
            "api_access",
            "community",
            ["pro", "enterprise"],
        )

        for call in (
            client.get("/queries", headers={"X-API-Key": named}),
            client.post("/queries/all_devices", headers={"X-API-Key": named}),
        ):
            response = await call
            assert response.status_code == 403 and problem(response)["feature"] == "api_access"

        unknown = await client.post("/queries/no_such_query", headers=admin, json={})
        assert unknown.status_code == 404 and problem(unknown)["field"] == "name"

        await publish_license(gateway_env, "pro")

        async def pro() -> bool:
            return (await client.get("/license", headers=admin)).json()["plan"] == "pro"

        await _until(pro)
        response = await client.post("/queries/orphaned_ips", headers={"X-API-Key": named})
        assert response.status_code == 200, response.text
        everything = (await client.get("/queries", headers={"X-API-Key": named})).json()
        assert "bgp_peers" in {q["name"] for q in everything}

        bad_cursor = await client.post(
            "/queries/all_devices", headers=admin, params={"cursor": "nope"}
        )
        assert (
            bad_cursor.status_code == 400 and problem(bad_cursor)["errors"][0]["field"] == "cursor"
        )

        health = (await client.get("/health/platform")).json()
        parts = health["components"]
        assert set(parts) == {"api", "graph", "redis", "license"}
        assert parts["graph"]["state"] == "up" and parts["redis"]["state"] == "up"
        assert parts["license"]["plan"] == "pro"
        assert health["status"] == "ok"
