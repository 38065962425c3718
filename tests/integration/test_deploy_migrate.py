"""deploy/migrate.py (the Helm hook's schema step) against the real PostgreSQL: it brings a
fresh database to the schema each service applies at start, changes nothing when run again,
and fails with one clear line when it cannot."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from meshq_runtime.embedded import free_port

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "migrate.py"


def _db_url(url: str, db: str) -> str:
    p = urlsplit(url)
    return urlunsplit((p.scheme, p.netloc, f"/{db}", p.query, p.fragment))


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(_db_url(url, "postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def fresh_db(stack) -> Iterator[str]:
    db = f"meshq_migrate_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(stack.postgres_url, f'CREATE DATABASE "{db}"'))  # generated name
    try:
        yield _db_url(stack.postgres_url, db)
    finally:
        asyncio.run(_admin(stack.postgres_url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))


def run(url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "MESHQ_POSTGRES_URL": url,
        "MESHQ_LOG_FORMAT": "json",
        **env,
    }
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def log_events(proc: subprocess.CompletedProcess[str]) -> list[dict]:
    out = []
    for line in (proc.stdout + proc.stderr).splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


async def _versions(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT component, version FROM meshq_schema_version")
        return {r["component"]: r["version"] for r in rows}
    finally:
        await conn.close()


def schemas() -> list[tuple[str, object]]:
    from meshq_audit.app import SCHEMA as AUDIT_SCHEMA
    from meshq_licensing.app import SCHEMA as LICENSING_SCHEMA

    return [*LICENSING_SCHEMA, *AUDIT_SCHEMA]


def test_migrates_a_fresh_database_then_changes_nothing(fresh_db) -> None:
    for service in ("licensing", "audit"):
        first = run(fresh_db, service)
        assert first.returncode == 0, first.stderr
    expected = {c: len(s) for c, s in schemas()}
    assert asyncio.run(_versions(fresh_db)) == expected
    again = run(fresh_db, "audit")
    assert again.returncode == 0, again.stderr
    events = [e["event"] for e in log_events(again)]
    assert "postgres.migrated" not in events  # nothing left to apply
    assert "postgres.migrate.done" in events


def test_a_service_without_tables_is_refused(fresh_db) -> None:
    proc = run(fresh_db, "mcp-bridge")
    assert proc.returncode == 1
    failed = [e for e in log_events(proc) if e["event"] == "postgres.migrate.failed"]
    assert failed and "keeps no tables" in failed[0]["error"]
    usage = run(fresh_db)
    assert usage.returncode == 2 and "usage:" in usage.stderr


def test_unreachable_postgres_fails_after_the_deadline() -> None:
    url = f"postgresql://meshq@127.0.0.1:{free_port()}/meshq"
    proc = run(url, "audit", MESHQ_POSTGRES_MIGRATE_TIMEOUT="1")
    assert proc.returncode == 1
    failed = [e for e in log_events(proc) if e["event"] == "postgres.migrate.failed"]
    assert failed and failed[0]["service"] == "audit"
    assert "hunter" not in proc.stdout + proc.stderr
