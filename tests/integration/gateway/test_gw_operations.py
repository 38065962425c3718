"""The operators' routes through a real gateway, with a real audit service, SOAR dispatcher,
broker and license events: ``GET /audit/verify``, ``GET /audit/export`` (streamed),
``POST /soar/replay`` and ``POST /netbox/sync``, who may call them before and under RBAC, the
services' refusals passed on, each call audited into the log it reads, and the ``meshq``
commands on top of them with nothing but an API key."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from click.testing import CliRunner
from gateway_support import ADMIN_KEY, make_key, problem, publish_license
from network_discovery.cli.main import cli
from network_discovery.contracts import topics
from network_discovery.contracts.events import ADAPTERS, NetboxSyncRequested
from support.front_door import use_gateway
from support.kafka import collect

pytestmark = pytest.mark.integration

ADMIN = {"X-API-Key": ADMIN_KEY}
POLICY = """
roles:
  auditors: {resources: [audit_log], verbs: [execute]}
  network: ["topology_*"]
groups:
  Auditors: [auditors]
  Network-Ops: [network]
"""


@pytest.fixture
async def audit_database(stack) -> AsyncIterator[str]:
    """A database of the audit service's own: its chain holds this test's records only."""
    name = f"meshq_gwops_{uuid.uuid4().hex[:10]}"
    server = await asyncpg.connect(stack.postgres_url)
    try:
        await server.execute(f'CREATE DATABASE "{name}"')
    finally:
        await server.close()
    parts = urlsplit(stack.postgres_url)
    yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))
    server = await asyncpg.connect(stack.postgres_url)
    try:
        await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await server.close()


async def _until(check: Any, what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found:
            return found
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.2)


async def _export(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    async with client.stream("GET", "/audit/export", params=params, headers=ADMIN) as answer:
        assert answer.status_code == 200, await answer.aread()
        assert answer.headers["content-type"].startswith("application/x-ndjson")
        text = b"".join([chunk async for chunk in answer.aiter_bytes()]).decode()
    return [json.loads(line) for line in text.splitlines()]


async def test_operators_go_through_the_gateway(
    gateway_env, service_env, keys_file, spawn, audit_database, tmp_path: Path, monkeypatch
) -> None:
    audit = spawn(
        "meshq_audit",
        {
            **service_env,
            "MESHQ_POSTGRES_URL": audit_database,
            "MESHQ_AUDIT_HMAC_KEY": "gw-ops-audit-" + "k" * 24,
            "MESHOPTIXIQ_DEMO_MODE": "true",
        },
    ).wait_healthy()
    dispatcher = spawn(
        "meshq_soar_dispatcher",
        {
            **service_env,
            "MESHOPTIXIQ_DEMO_MODE": "true",
            "MESHQ_LICENSING_URL": "http://127.0.0.1:9",
            "SOAR_WEBHOOK_URL": "http://127.0.0.1:9/hook",
            "SOAR_WEBHOOK_TOKEN": "t" * 24,
        },
    ).wait_healthy()
    policy = tmp_path / "rbac.yaml"
    policy.write_text(POLICY)
    auditor = {"X-API-Key": make_key(keys_file, "auditor", "Auditors")}
    gateway = spawn(
        "meshq_query_gateway",
        {
            **gateway_env,
            "MESHQ_AUDIT_URL": audit.url,
            "MESHQ_SOAR_DISPATCHER_URL": dispatcher.url,
            "RBAC_POLICY_FILE": str(policy),
        },
    ).wait_healthy()

    async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as client:
        # Community, RBAC not in force: the admin key only
        verified = await client.get("/audit/verify", headers=ADMIN)
        assert verified.status_code == 200, verified.text
        assert verified.json()["break"] is None
        refused = await client.get("/audit/verify", headers=auditor)
        assert refused.status_code == 403
        assert (problem(refused)["verb"], problem(refused)["resource"]) == ("execute", "audit_log")
        no_flag = await client.post("/netbox/sync", json={"direction": "pull"}, headers=ADMIN)
        assert no_flag.status_code == 403
        assert (problem(no_flag)["feature"], problem(no_flag)["plan"]) == (
            "netbox_sync",
            "community",
        )
        replayed = await client.post("/soar/replay", headers=ADMIN)
        assert replayed.status_code == 200, replayed.text
        assert replayed.json() == {
            "replayed": 0,
            "delivered": 0,
            "dead_lettered": 0,
            "skipped": 0,
            "imported": 0,
        }

        # every one of those calls is in the log it reads, allowed or refused
        async def audited() -> list[tuple[str, str, int]]:
            data = [r["event"]["data"] for r in await _export(client)]
            calls = [(d["path"], d["principal"], d["status"]) for d in data]
            wanted = {
                ("/audit/verify", "admin", 200),
                ("/audit/verify", "auditor", 403),
                ("/netbox/sync", "admin", 403),
                ("/soar/replay", "admin", 200),
            }
            return calls if wanted <= set(calls) else []

        await _until(audited, "the operators' calls in the audit log")
        async with client.stream(
            "GET", "/audit/export", params={"format": "csv"}, headers=ADMIN
        ) as answer:
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/csv")
            first = (await answer.aread()).split(b"\n", 1)[0]
        assert first.startswith(b"seq,event_id,")
        invalid = await client.get("/audit/export", params={"since": "yesterday"}, headers=ADMIN)
        assert invalid.status_code == 422
        assert [e["field"] for e in problem(invalid)["errors"]] == ["since"]

        # Enterprise: RBAC in force, a role may be granted a resource
        await publish_license(gateway_env, "enterprise")

        async def enterprise() -> bool:
            lic = (await client.get("/license", headers=ADMIN)).json()
            return bool(lic["plan"] == "enterprise")

        await _until(enterprise, "the enterprise plan")
        assert (await client.get("/audit/verify", headers=auditor)).status_code == 200
        not_granted = await client.post("/soar/replay", headers=auditor)
        assert not_granted.status_code == 403 and problem(not_granted)["resource"] == "soar_replay"

        sync = await client.post(
            "/netbox/sync", json={"direction": "push", "dry_run": True}, headers=ADMIN
        )
        assert sync.status_code == 202, sync.text
        body = sync.json()
        assert (body["direction"], body["dry_run"], body["requested_by"]) == ("push", True, "admin")
        assert body["correlation_id"] == sync.headers["x-correlation-id"]
        bad = await client.post("/netbox/sync", json={"direction": "up"}, headers=ADMIN)
        assert bad.status_code == 400 and problem(bad)["errors"][0]["field"] == "direction"

    published = await collect(
        gateway_env["MESHQ_KAFKA_BOOTSTRAP"],
        gateway_env["MESHQ_KAFKA_TOPIC_PREFIX"] + topics.NETBOX_SYNC_REQUESTED.name,
        count=1,
    )
    assert len(published) == 1
    event = ADAPTERS[topics.NETBOX_SYNC_REQUESTED.name].validate_json(published[0].value)
    assert isinstance(event, NetboxSyncRequested)
    assert (event.id, event.correlation_id) == (body["event_id"], body["correlation_id"])
    assert (event.data.direction, event.data.dry_run, event.data.requested_by) == (
        "push",
        True,
        "admin",
    )

    # the commands: the REST API and a key, nothing else (no service URL, no credential)
    for name in ("MESHQ_SERVICE_TOKEN", "MESHQ_AUDIT_URL", "MESHQ_SOAR_DISPATCHER_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MESHQ_DATA_DIR", str(tmp_path / "nothing-here"))
    use_gateway(monkeypatch, gateway, key=ADMIN_KEY)
    runner = CliRunner()
    replay = await asyncio.to_thread(runner.invoke, cli, ["soar", "replay"])
    assert replay.exit_code == 0, replay.output
    assert replay.output == "replayed 0: 0 delivered, 0 dead-lettered again, 0 skipped\n"
    intact = await asyncio.to_thread(runner.invoke, cli, ["audit", "verify"])
    assert intact.exit_code == 0 and intact.output.startswith("audit log intact: "), intact.output
    use_gateway(monkeypatch, gateway, key=auditor["X-API-Key"])
    denied = await asyncio.to_thread(runner.invoke, cli, ["soar", "replay"])
    assert denied.exit_code == 1
    assert denied.output.startswith("meshq: 403: only the admin") and "soar_replay" in denied.output


async def test_a_gateway_without_the_services_says_which_to_configure(gateway_env, spawn) -> None:
    gateway = spawn("meshq_query_gateway", gateway_env).wait_healthy()
    async with httpx.AsyncClient(base_url=gateway.url, headers=ADMIN, timeout=30) as client:
        for method, path, env in (
            ("GET", "/audit/verify", "MESHQ_AUDIT_URL"),
            ("GET", "/audit/export", "MESHQ_AUDIT_URL"),
            ("POST", "/soar/replay", "MESHQ_SOAR_DISPATCHER_URL"),
        ):
            answer = await client.request(method, path)
            assert answer.status_code == 409, (path, answer.text)
            assert problem(answer)["field"] == env
