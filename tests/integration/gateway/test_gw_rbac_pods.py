"""Two gateway pods on one Redis: RBAC allow and deny by glob for list and execute, a reload on
one pod reaching the other through Redis Pub/Sub, a broken file keeping the last good policy,
and a route limited to 5 calls a minute counted across both pods."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import httpx
import pytest
from gateway_support import ADMIN_KEY, make_key, problem, publish_license

pytestmark = pytest.mark.integration

POLICY = """
roles:
  network:
    resources: ["topology_*", "device_*"]
    verbs: ["execute"]
  readonly:
    resources: ["*"]
    verbs: ["list"]
groups:
  "Network-Ops":
    roles: [network]
  "Management":
    roles: [readonly]
"""
WIDER = POLICY.replace('"device_*"]', '"device_*", "orphaned_*"]')
ADMIN = {"X-API-Key": ADMIN_KEY}


async def _until(check, *, timeout: float) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < timeout, "deadline passed"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_rbac_reload_and_rate_limit_across_pods(
    gateway_env, keys_file, spawn, tmp_path: Path
) -> None:
    policy = tmp_path / "rbac.yaml"
    policy.write_text(POLICY)
    tag = uuid.uuid4().hex[:6]
    netops = {"X-API-Key": make_key(keys_file, f"netops-{tag}", "Network-Ops")}
    mgmt = {"X-API-Key": make_key(keys_file, f"mgmt-{tag}", "Management")}
    await publish_license(gateway_env, "pro")
    env = {
        **gateway_env,
        "RBAC_POLICY_FILE": str(policy),
        "RBAC_RELOAD_INTERVAL": "3600",  # only Pub/Sub can carry the reload in time
        "MESHQ_RATE_LIMITS": json.dumps({"GET /queries/{name}": "5/minute"}),
    }
    pod_a = spawn("meshq_query_gateway", env, name="gw-a")
    pod_b = spawn("meshq_query_gateway", env, name="gw-b")
    pod_a.wait_healthy(), pod_b.wait_healthy()
    async with (
        httpx.AsyncClient(base_url=pod_a.url, timeout=10) as a,
        httpx.AsyncClient(base_url=pod_b.url, timeout=10) as b,
    ):
        for client in (a, b):

            async def pro(c: httpx.AsyncClient = client) -> bool:
                return (await c.get("/license", headers=ADMIN)).json()["plan"] == "pro"

            await _until(pro, timeout=20)

        # list: only Management has the verb; execute: only Network-Ops, only its globs
        assert (await a.get("/queries", headers=netops)).json() == []
        listed = {q["name"] for q in (await b.get("/queries", headers=mgmt)).json()}
        assert {"topology_edges", "orphaned_ips", "bgp_peers"} <= listed
        assert (await a.post("/queries/topology_edges", headers=netops)).status_code == 200
        denied = await b.post("/queries/orphaned_ips", headers=netops)
        assert denied.status_code == 403
        assert (problem(denied)["verb"], problem(denied)["resource"]) == ("execute", "orphaned_ips")
        assert (await a.post("/queries/topology_edges", headers=mgmt)).status_code == 403
        # listing never returns data: the inventory and the snapshots need execute
        for path, resource in (
            ("/inventory/ansible", "inventory_ansible"),
            ("/snapshots", "snapshots"),
        ):
            read = await a.get(path, headers=mgmt)
            assert read.status_code == 403, (path, read.text)
            assert (problem(read)["verb"], problem(read)["resource"]) == ("execute", resource)

        # only the admin may reload
        assert (await a.post("/admin/rbac/reload", headers=netops)).status_code == 403

        before = (await b.get("/admin/rbac", headers=ADMIN)).json()
        policy.write_text(WIDER)
        reloaded = await a.post("/admin/rbac/reload", headers=ADMIN)
        assert reloaded.status_code == 200, reloaded.text
        assert reloaded.json()["notified_pods"] >= 2

        async def b_has_new_policy() -> bool:
            status = (await b.get("/admin/rbac", headers=ADMIN)).json()
            return status["digest"] == reloaded.json()["digest"] != before["digest"]

        await _until(b_has_new_policy, timeout=2.0)
        assert (await b.post("/queries/orphaned_ips", headers=netops)).status_code == 200

        # a broken file is refused and the last good policy stays
        policy.write_text("roles: [")
        broken = await a.post("/admin/rbac/reload", headers=ADMIN)
        assert broken.status_code == 422 and "previous policy" in problem(broken)["detail"]
        assert (await a.post("/queries/orphaned_ips", headers=netops)).status_code == 200
        status = (await a.get("/admin/rbac", headers=ADMIN)).json()
        assert "not valid YAML" in status["last_error"]

        # 5 a minute per identity and route, counted across both pods
        route = "/queries/topology_edges"
        for client in (a, a, b, a, b):
            assert (await client.get(route, headers=netops)).status_code == 200
        sixth = await b.get(route, headers=netops)
        assert sixth.status_code == 429
        assert 1 <= int(sixth.headers["retry-after"]) <= 60
        assert problem(sixth)["limit"] == 5 and problem(sixth)["route"] == "GET /queries/{name}"
        assert (await a.get(route, headers=netops)).status_code == 429
        # another identity, and another route, are counted apart
        assert (await a.get(route, headers=ADMIN)).status_code == 200
        assert (await a.post(route, headers=netops)).status_code == 200
