"""``meshq audit verify`` and ``meshq audit export`` against a running audit service.

The service runs without ``MESHQ_SERVICE_TOKEN`` here: it generates the credential into its
data directory, where the CLI (on the same machine, same ``MESHQ_DATA_DIR``) finds it."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import asyncpg
import pytest
from click.testing import CliRunner
from network_discovery.cli.main import cli

pytestmark = pytest.mark.integration


async def test_verify_and_export_from_the_cli(audit_env, spawn, feed, audit_event, monkeypatch):
    env = {k: v for k, v in audit_env.items() if k != "MESHQ_SERVICE_TOKEN"}
    monkeypatch.delenv("MESHQ_SERVICE_TOKEN", raising=False)
    audit = spawn("meshq_audit", env).wait_healthy()
    token_file = Path(env["MESHQ_DATA_DIR"]) / "run" / "service_token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    await feed(*[audit_event(i) for i in range(1, 5)])
    conn = await asyncpg.connect(audit_env["MESHQ_POSTGRES_URL"])
    try:
        deadline = asyncio.get_running_loop().time() + 60
        while await conn.fetchval("SELECT count(*) FROM audit_log") < 4:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.1)
        monkeypatch.setenv("MESHQ_AUDIT_URL", audit.url)
        runner = CliRunner()
        # another data directory: no credential to send, and the CLI says where it looked
        monkeypatch.setenv("MESHQ_DATA_DIR", str(Path(env["MESHQ_DATA_DIR"]).parent / "other"))
        none = await asyncio.to_thread(runner.invoke, cli, ["audit", "verify"])
        assert none.exit_code != 0 and "MESHQ_SERVICE_TOKEN" in none.output
        assert none.output.count("\n") == 1
        # a credential of the right length that is not the installation's
        monkeypatch.setenv("MESHQ_SERVICE_TOKEN", "w" * len(token_file.read_text().strip()))
        wrong = await asyncio.to_thread(runner.invoke, cli, ["audit", "export"])
        assert wrong.exit_code != 0 and "not this installation's" in wrong.output
        assert wrong.output.count("\n") == 1
        monkeypatch.delenv("MESHQ_SERVICE_TOKEN")
        monkeypatch.setenv("MESHQ_DATA_DIR", env["MESHQ_DATA_DIR"])

        ok = await asyncio.to_thread(runner.invoke, cli, ["audit", "verify"])
        assert ok.exit_code == 0, ok.output
        assert "4 record(s)" in ok.output

        out = await asyncio.to_thread(
            runner.invoke, cli, ["audit", "export", "--since", "2000-01-01T00:00:00Z"]
        )
        assert out.exit_code == 0
        assert [json.loads(x)["seq"] for x in out.output.splitlines()] == [1, 2, 3, 4]

        bad = await asyncio.to_thread(runner.invoke, cli, ["audit", "export", "--since", "x"])
        assert bad.exit_code != 0 and "since" in bad.output

        await conn.execute("DELETE FROM audit_log WHERE seq = 2")
        broken = await asyncio.to_thread(runner.invoke, cli, ["audit", "verify"])
        assert broken.exit_code == 1
        assert "record 2: deleted" in broken.output
        later = await asyncio.to_thread(runner.invoke, cli, ["audit", "verify", "--from", "4"])
        assert later.exit_code == 0, later.output
    finally:
        await conn.close()
