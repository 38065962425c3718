"""``meshq audit verify`` and ``meshq audit export`` against a running audit service, through
the gateway (``GET /audit/verify``, ``GET /audit/export``).

The audit service runs without ``MESHQ_SERVICE_TOKEN`` here: it generates the credential into
its data directory, where the gateway (same ``MESHQ_DATA_DIR``, as under ``meshq serve``) finds
it. The CLI needs no credential but its API key; each of its calls is audited by the gateway
and so lands in the very log it reads."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import asyncpg
import pytest
from click.testing import CliRunner
from network_discovery.cli.main import cli
from support.front_door import start_gateway, use_gateway

pytestmark = pytest.mark.integration


async def _count(conn: asyncpg.Connection, at_least: int) -> None:
    deadline = asyncio.get_running_loop().time() + 60
    while await conn.fetchval("SELECT count(*) FROM audit_log") < at_least:
        assert asyncio.get_running_loop().time() < deadline, f"{at_least} records"
        await asyncio.sleep(0.1)


async def test_verify_and_export_from_the_cli(audit_env, spawn, feed, audit_event, monkeypatch):
    env = {k: v for k, v in audit_env.items() if k != "MESHQ_SERVICE_TOKEN"}
    monkeypatch.delenv("MESHQ_SERVICE_TOKEN", raising=False)
    audit = spawn("meshq_audit", env).wait_healthy()
    token_file = Path(env["MESHQ_DATA_DIR"]) / "run" / "service_token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    gateway = start_gateway(spawn, env, MESHQ_AUDIT_URL=audit.url)
    await feed(*[audit_event(i) for i in range(1, 5)])
    conn = await asyncpg.connect(audit_env["MESHQ_POSTGRES_URL"])
    try:
        await _count(conn, 4)
        runner = CliRunner()
        # no gateway named, and no stack here: the CLI says what to set (never a credential)
        monkeypatch.setenv("MESHQ_DATA_DIR", str(Path(env["MESHQ_DATA_DIR"]).parent / "other"))
        for name in ("MESHOPTIXIQ_API_URL", "MESHOPTIXIQ_API_KEY"):
            monkeypatch.delenv(name, raising=False)
        none = await asyncio.to_thread(runner.invoke, cli, ["audit", "verify"])
        assert none.exit_code != 0 and "MESHOPTIXIQ_API_URL" in none.output
        assert "MESHQ_SERVICE_TOKEN" not in none.output
        assert none.output.count("\n") == 1
        use_gateway(monkeypatch, gateway, key="not-the-key")
        wrong = await asyncio.to_thread(runner.invoke, cli, ["audit", "export"])
        assert wrong.exit_code != 0 and "401: the X-API-Key is not valid" in wrong.output
        assert wrong.output.count("\n") == 1
        use_gateway(monkeypatch, gateway)

        ok = await asyncio.to_thread(runner.invoke, cli, ["audit", "verify"])
        assert ok.exit_code == 0, ok.output
        assert "4 record(s)" in ok.output
        await _count(conn, 5)  # the verify itself, audited by the gateway

        out = await asyncio.to_thread(
            runner.invoke, cli, ["audit", "export", "--since", "2000-01-01T00:00:00Z"]
        )
        assert out.exit_code == 0, out.output
        records = [json.loads(x) for x in out.output.splitlines()]
        assert [r["seq"] for r in records][:5] == [1, 2, 3, 4, 5]
        call = records[4]["event"]["data"]
        assert (call["path"], call["principal"], call["status"]) == ("/audit/verify", "admin", 200)
        assert call["query"] == "audit_log"

        csv = await asyncio.to_thread(runner.invoke, cli, ["audit", "export", "--format", "csv"])
        assert csv.exit_code == 0 and csv.output.startswith("seq,event_id,")

        bad = await asyncio.to_thread(runner.invoke, cli, ["audit", "export", "--since", "x"])
        assert bad.exit_code != 0 and "422: since must be an RFC 3339 time (since:" in bad.output

        await conn.execute("DELETE FROM audit_log WHERE seq = 2")
        broken = await asyncio.to_thread(runner.invoke, cli, ["audit", "verify"])
        assert broken.exit_code == 1
        assert "record 2: deleted" in broken.output
        later = await asyncio.to_thread(runner.invoke, cli, ["audit", "verify", "--from", "4"])
        assert later.exit_code == 0, later.output
    finally:
        await conn.close()


async def test_a_gateway_the_audit_service_does_not_trust_is_named(
    audit_env, spawn, monkeypatch
) -> None:
    audit = spawn("meshq_audit", audit_env).wait_healthy()
    stranger = start_gateway(
        spawn, {**audit_env, "MESHQ_SERVICE_TOKEN": "w" * 48}, MESHQ_AUDIT_URL=audit.url
    )
    use_gateway(monkeypatch, stranger)
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["audit", "verify"])
    assert result.exit_code == 1
    assert result.output == (
        "meshq: 502: the audit service did not accept this gateway's service credential; "
        "see the gateway's logs\n"
    )
    assert "operations.refused_service_credential" in stranger.logs()
