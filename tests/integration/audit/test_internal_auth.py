"""Issue 19, "nothing trusted without proof", on real processes: graph-engine's internal API
and the audit service's verify / export refuse a caller without the installation's service
credential (401 problem+json, nothing changed, nothing recorded), serve one with it, and every
internal write lands in the audit chain naming the calling service. The credential is never
logged."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from support.demo_stack import load_demo
from support.procs import ServiceProc, internal_headers, wait_for

pytestmark = pytest.mark.integration

DEVICE = "hq-core-01"
WRITE = "/internal/queries/update_device_metadata"


def _refused(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert (body["status"], body["title"]) == (401, "Unauthorized")


def _device(graph: ServiceProc, env: dict[str, str]) -> dict[str, Any]:
    rows = httpx.post(
        f"{graph.url}/internal/queries/all_devices",
        json={},
        headers=internal_headers(env),
        timeout=30,
    )
    assert rows.status_code == 200, rows.text
    return next(r for r in rows.json()["rows"] if r["hostname"] == DEVICE)


def _export(audit: ServiceProc, env: dict[str, str]) -> list[dict[str, Any]]:
    r = httpx.get(f"{audit.url}/audit/export", headers=internal_headers(env, "cli"), timeout=30)
    assert r.status_code == 200, r.text
    return [json.loads(line)["event"] for line in r.text.splitlines()]


def _writes(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["data"].get("query") == "update_device_metadata"]


async def test_internal_write_and_export_need_the_credential_and_writes_are_audited(
    audit_env: dict[str, str], spawn: Callable[..., ServiceProc]
) -> None:
    env = {**audit_env, "MESHQ_LICENSING_URL": "http://127.0.0.1:9"}
    token = env["MESHQ_SERVICE_TOKEN"]
    wrong = ("A" if token[0] != "A" else "B") + token[1:]  # the same length, one byte off
    assert len(wrong) == len(token) and wrong != token
    audit = spawn("meshq_audit", env)
    graph = spawn("meshq_graph_engine", env)
    await asyncio.to_thread(audit.wait_healthy)
    await asyncio.to_thread(graph.wait_healthy)
    await load_demo(env, graph.url)
    before = await asyncio.to_thread(_device, graph, env)
    assert before["role"] != "pwned"

    attacker = {"device": DEVICE, "role": "pwned", "tags": ["pwned"]}
    async with httpx.AsyncClient(timeout=30) as client:
        # --- no credential, a wrong one of the same length, a caller name alone: 401 ---------
        for headers in (
            {},
            {"X-MeshQ-Service-Token": wrong, "X-MeshQ-Caller": "query-gateway"},
            {"X-MeshQ-Caller": "query-gateway"},
        ):
            _refused(await client.post(graph.url + WRITE, json=attacker, headers=headers))
            _refused(await client.get(graph.url + "/internal/queries", headers=headers))
            _refused(await client.get(graph.url + "/internal/snapshots", headers=headers))
            _refused(await client.get(audit.url + "/audit/export", headers=headers))
            _refused(await client.get(audit.url + "/audit/verify", headers=headers))
        # the probes and the audit metrics (counts only) stay open
        for url in (f"{graph.url}/health", f"{graph.url}/ready", f"{audit.url}/metrics"):
            assert (await client.get(url)).status_code == 200, url

        # --- with the credential: the write is applied, and audited -------------------------
        auth = internal_headers(env, "netbox-sync")
        good = {"device": DEVICE, "role": "edge-test", "tags": ["issue-19"]}
        written = await client.post(graph.url + WRITE, json=good, headers=auth)
        assert written.status_code == 200, written.text
        assert written.json()["rows"][0]["role"] == "edge-test"
        unknown = await client.post(
            graph.url + WRITE, json={"device": "no-such-device", "role": "x"}, headers=auth
        )
        assert unknown.status_code == 404

    after = await asyncio.to_thread(_device, graph, env)
    assert after["role"] == "edge-test" and "pwned" not in (after.get("tags") or [])

    def two_writes() -> list[dict[str, Any]]:
        found = _writes(_export(audit, env))
        return found if len(found) >= 2 else []

    writes = await asyncio.to_thread(wait_for, two_writes, timeout=60, what="2 audited writes")
    by_status = {e["data"]["status"]: e for e in writes}
    assert set(by_status) == {200, 404}, writes  # the refused attempts left no trace here
    ok = by_status[200]
    assert ok["source"] == "graph-engine" and ok["subject"] == "netbox-sync"
    assert ok["data"]["principal"] == "netbox-sync"
    assert ok["data"]["auth_method"] == "service"
    assert (ok["data"]["method"], ok["data"]["path"]) == ("POST", WRITE)
    assert ok["data"]["params"] == good
    assert ok["data"]["row_count"] == 1
    assert ok["data"]["sample_rows"][0]["role"] == "edge-test"
    assert by_status[404]["data"]["params"]["device"] == "no-such-device"

    # --- the same write through the gateway: the user's event and graph-engine's, linked -----
    admin = secrets.token_urlsafe(24)
    gateway = spawn(
        "meshq_query_gateway", {**env, "API_KEY": admin, "MESHQ_GRAPH_ENGINE_URL": graph.url}
    )
    await asyncio.to_thread(gateway.wait_healthy)
    via = httpx.post(
        f"{gateway.url}/queries/update_device_metadata",
        json={"device": DEVICE, "role": "via-gateway"},
        headers={"X-API-Key": admin, "X-Correlation-ID": "issue-19-via-gateway"},
        timeout=30,
    )
    assert via.status_code == 200, via.text

    def linked() -> list[dict[str, Any]]:
        found = [
            e
            for e in _export(audit, env)
            if e["correlation_id"] == "issue-19-via-gateway"
            and e["data"].get("query") == "update_device_metadata"
        ]
        return found if len(found) >= 2 else []

    pair = await asyncio.to_thread(wait_for, linked, timeout=60, what="the gateway's 2 events")
    who = {(e["source"], e["data"]["principal"], e["data"]["auth_method"]) for e in pair}
    assert who == {
        ("query-gateway", "admin", "api_key"),  # the user, as the gateway saw them
        ("graph-engine", "query-gateway", "service"),  # the internal write it made
    }

    # --- the chain still verifies, and no credential reached a log -------------------------
    verified = httpx.get(
        f"{audit.url}/audit/verify", headers=internal_headers(env, "cli"), timeout=30
    )
    assert verified.status_code == 200 and verified.json()["ok"] is True, verified.text
    logs = audit.logs() + graph.logs() + gateway.logs()
    assert '"service_auth.refused"' in graph.logs() and '"service_auth.refused"' in audit.logs()
    assert token not in logs and wrong not in logs
