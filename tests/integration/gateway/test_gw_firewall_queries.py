"""The firewall query set through a real gateway and graph engine: the two-firewall network
ingested over the broker, the queries refused while the license lacks ``firewall_queries``
(with ``api_access`` on) and answered once it has it, and RBAC and parameter errors."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from gateway_support import ADMIN_KEY, make_key, problem, publish_license
from support.firewall_fixture import firewall_snapshot
from support.submit import submit

pytestmark = pytest.mark.integration

#: The guide's security role: firewall_*, path_analysis and deny_rules_summary.
POLICY = """
roles:
  security:
    resources: ["firewall_*", "path_analysis", "deny_rules_summary"]
    verbs: ["execute"]
groups:
  "Security-Team":
    roles: [security]
"""

CALLS = {
    "all_firewall_devices": {},
    "firewall_rules_by_device": {"device": "fw1"},
    "firewall_rules_by_zone_pair": {"src_zone": "transit", "dst_zone": "servers"},
    "deny_rules_summary": {},
    "shadowed_rules": {},
    "filter_line_reachability": {"device": "fw2"},
    "route_lookup": {"device": "core1", "destination": "10.3.0.10"},
    "path_analysis": {
        "source": "10.1.0.10",
        "destination": "10.3.0.10",
        "protocol": "tcp",
        "port": 22,
    },
}


async def _until(check, *, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "deadline passed"
        await asyncio.sleep(0.1)


async def test_firewall_queries_gate_off_then_on(
    gateway_env, keys_file, spawn, tmp_path: Path
) -> None:
    ingested = await submit(gateway_env["MESHQ_GRAPH_ENGINE_URL"], gateway_env, firewall_snapshot())
    assert ingested["status"] == "applied", ingested
    security = make_key(keys_file, "sec", "Security-Team")
    policy = tmp_path / "rbac.yaml"
    policy.write_text(POLICY)
    env = {**gateway_env, "RBAC_POLICY_FILE": str(policy)}
    gw = spawn("meshq_query_gateway", env).wait_healthy()
    admin = {"X-API-Key": ADMIN_KEY}
    async with httpx.AsyncClient(base_url=gw.url, timeout=30) as client:
        await publish_license(gateway_env, "pro", 1, firewall_queries=False)

        async def api_on() -> bool:
            lic = (await client.get("/license", headers=admin)).json()
            return bool(lic["features"]["api_access"])

        await _until(api_on)
        listed = {q["name"] for q in (await client.get("/queries", headers=admin)).json()}
        assert "all_devices" in listed and not listed & set(CALLS)
        for name, params in CALLS.items():
            refused = await client.post(f"/queries/{name}", headers=admin, json=params)
            assert refused.status_code == 403, (name, refused.text)
            assert problem(refused)["feature"] == "firewall_queries"

        await publish_license(gateway_env, "pro", 2)

        async def fw_on() -> bool:
            lic = (await client.get("/license", headers=admin)).json()
            return bool(lic["features"]["firewall_queries"])

        await _until(fw_on)
        listed = {q["name"] for q in (await client.get("/queries", headers=admin)).json()}
        assert set(CALLS) <= listed
        answers = {}
        for name, params in CALLS.items():
            ran = await client.post(f"/queries/{name}", headers=admin, json=params)
            assert ran.status_code == 200, (name, ran.text)
            answers[name] = ran.json()["rows"]
            assert answers[name], name
        path = answers["path_analysis"]
        assert {r["verdict"] for r in path} == {"denied"}
        assert {r["firewalls"][-1]["name"] for r in path} == {"deny-ssh"}
        assert [r["next_hop_device"] for r in answers["route_lookup"]] == ["spine-a", "spine-b"]

        # RBAC: the security role runs firewall_*, path_analysis and deny_rules_summary only
        sec = {"X-API-Key": security}
        for name in ("path_analysis", "deny_rules_summary", "firewall_rules_by_device"):
            ok = await client.post(f"/queries/{name}", headers=sec, json=CALLS[name])
            assert ok.status_code == 200, (name, ok.text)
        for name in ("route_lookup", "shadowed_rules", "filter_line_reachability"):
            denied = await client.post(f"/queries/{name}", headers=sec, json=CALLS[name])
            assert denied.status_code == 403, (name, denied.text)
            assert problem(denied)["resource"] == name

        bad = await client.post(
            "/queries/path_analysis",
            headers=admin,
            json={"source": "10.1.0.10", "destination": "10.3.0.10", "protocol": "tcp"},
        )
        assert bad.status_code == 422
        assert "port" in problem(bad)["detail"]
