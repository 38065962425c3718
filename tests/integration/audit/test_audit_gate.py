"""The audit_logging gate: on a plan without it the audit service records nothing and verify /
export refuse naming the flag and the plan; on a plan with it every event is recorded.

The plan reaches the service as it does in production: the license agent's state on the
license topic (published here without the agent), read by the service's LicenseFollower.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from click.testing import CliRunner
from conftest import AUDIT_KEY
from meshq_runtime.kafka import ensure_topics
from meshq_runtime.settings import KafkaSettings
from network_discovery.cli.main import cli
from support.front_door import start_gateway, use_gateway
from support.license import publish_license
from support.procs import ServiceProc, internal_headers, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def gated_env(service_env: dict[str, str], audit_db: str) -> dict[str, str]:
    """No demo mode and no agent: the plan is whatever the license topic says."""
    return {
        **service_env,
        "MESHQ_POSTGRES_URL": audit_db,
        "MESHQ_AUDIT_HMAC_KEY": AUDIT_KEY,
        "MESHQ_LICENSING_URL": "http://127.0.0.1:9",
        "MESHQ_AUDIT_LICENSE_WAIT_S": "1",
    }


def _metric(url: str, name: str) -> float:
    for line in httpx.get(f"{url}/metrics", timeout=5).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


async def _recorded(db: str) -> list[str]:
    conn = await asyncpg.connect(db)
    try:
        rows = await conn.fetch("SELECT event_id FROM audit_log ORDER BY seq")
    finally:
        await conn.close()
    return [r["event_id"] for r in rows]


async def _until(check: Any, what: str) -> None:
    await asyncio.to_thread(wait_for, check, timeout=60, what=what)


def _cli(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


async def _gateway(spawn: Any, env: dict[str, str], audit_url: str) -> ServiceProc:
    """The gateway the CLI goes through, on topics of its own: its audit of the CLI's calls
    stays out of the chain (and the counts) under test."""
    tag = uuid.uuid4().hex[:8]
    own = {**env, "MESHQ_KAFKA_TOPIC_PREFIX": f"gw{tag}.", "MESHQ_KAFKA_GROUP_PREFIX": f"gw{tag}"}
    await ensure_topics(
        KafkaSettings(**{k: v for k, v in own.items() if k.startswith("MESHQ_KAFKA_")})
    )
    return start_gateway(spawn, own, MESHQ_AUDIT_URL=audit_url)


async def test_plan_without_audit_logging_records_nothing_and_refuses_verify_and_export(
    gated_env, audit_db, spawn, feed, audit_event, monkeypatch
) -> None:
    audit = spawn("meshq_audit", gated_env).wait_healthy()
    # Nobody told the plan within the wait: Community until told otherwise.
    assert '"audit.plan_unknown"' in audit.logs()
    assert _metric(audit.url, "meshq_audit_recording") == 0

    community = [audit_event(i) for i in range(1, 4)]
    await feed(*community)
    await _until(
        lambda: _metric(audit.url, "meshq_audit_unrecorded_events_total") == 3, "3 skipped"
    )
    assert await _recorded(audit_db) == []
    assert '"audit.not_recorded"' in audit.logs()

    for path in ("/audit/verify", "/audit/export"):
        refused = httpx.get(audit.url + path, headers=internal_headers(gated_env), timeout=10)
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        body = refused.json()
        assert (body["feature"], body["plan"], body["plans"]) == (
            "audit_logging",
            "community",
            ["pro", "enterprise"],
        )
    use_gateway(monkeypatch, await _gateway(spawn, gated_env, audit.url))
    for command in (["audit", "verify"], ["audit", "export", "--format", "csv"]):
        result = await asyncio.to_thread(_cli, *command)
        assert result.exit_code != 0, result.output
        assert "audit_logging" in result.output and "community plan" in result.output
        assert result.output.count("\n") == 1  # one line saying what is wrong

    # The plan gains the flag: recording starts with the next event.
    await publish_license(gated_env, "pro", revision=1)
    await _until(lambda: _metric(audit.url, "meshq_audit_recording") == 1, "recording on")
    pro = [audit_event(i) for i in range(4, 6)]
    await feed(*pro)

    async def two() -> bool:
        return len(await _recorded(audit_db)) == 2

    deadline = asyncio.get_running_loop().time() + 60
    while not await two():
        assert asyncio.get_running_loop().time() < deadline, audit.tail()
        await asyncio.sleep(0.1)
    assert await _recorded(audit_db) == [e.id for e in pro]  # nothing from before
    ok = await asyncio.to_thread(_cli, "audit", "verify")
    assert ok.exit_code == 0 and "2 record(s)" in ok.output, ok.output

    # The license lapses to Community (restricted): recording stops, the log is refused again.
    await publish_license(gated_env, "community", revision=2)
    await _until(lambda: _metric(audit.url, "meshq_audit_recording") == 0, "recording off")
    await feed(audit_event(6))
    await _until(
        lambda: _metric(audit.url, "meshq_audit_unrecorded_events_total") == 4, "4 skipped"
    )
    assert len(await _recorded(audit_db)) == 2
    refused = httpx.get(audit.url + "/audit/verify", headers=internal_headers(gated_env))
    assert refused.status_code == 403


async def test_a_licensed_installation_records_from_its_first_event(
    gated_env, audit_db, spawn, feed, audit_event
) -> None:
    """Events already waiting when the service starts are recorded: it learns the plan from
    the license topic before it consumes them."""
    await publish_license(gated_env, "enterprise", revision=7)
    waiting = [audit_event(i) for i in range(1, 6)]
    await feed(*waiting)
    audit = spawn("meshq_audit", {**gated_env, "MESHQ_AUDIT_LICENSE_WAIT_S": "30"})
    audit.wait_healthy()

    deadline = asyncio.get_running_loop().time() + 60
    while len(await _recorded(audit_db)) < len(waiting):
        assert asyncio.get_running_loop().time() < deadline, audit.tail()
        await asyncio.sleep(0.1)
    assert await _recorded(audit_db) == [e.id for e in waiting]
    assert _metric(audit.url, "meshq_audit_unrecorded_events_total") == 0
    assert '"audit.plan_unknown"' not in audit.logs()
