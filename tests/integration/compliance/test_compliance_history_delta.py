"""Compliance history keeps per run only the device sets that changed: every kept run must still
read back exactly the rows it was saved with (filters included), in files and in PostgreSQL,
across devices changing, leaving and coming back, full runs, pruning, and runs written in the
earlier whole-rows layout."""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from meshq_graph_engine.compliance import FileHistory, History, PostgresHistory
from meshq_graph_engine.compliance.evaluate import RESULT_COLUMNS
from meshq_graph_engine.compliance.history import MIGRATIONS
from meshq_runtime.postgres import create_pool
from meshq_runtime.settings import PostgresSettings
from support.pgdb import fresh_database

pytestmark = pytest.mark.integration

STATUSES = ("pass", "fail", "not_applicable", "unknown")
RULES = [("ios-hardening", f"ios-r{i}") for i in range(6)] + [("topology", "topo-mtu")]
START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def _row(device: str, pack: str, rule: str, rng: random.Random) -> dict[str, Any]:
    status = rng.choice(STATUSES)
    values = {
        "device": device,
        "pack": pack,
        "rule": rule,
        "title": f"{rule} holds",
        "severity": rng.choice(("low", "medium", "high")),
        "source": "config",
        "status": status,
        "message": f"{status} on {device}",
        "evidence": [{"line": rng.randint(1, 900), "text": "ip http server", "why": "present"}]
        if status == "fail"
        else [],
        "remediation": "no ip http server" if status == "fail" else "",
    }
    return {c: values[c] for c in RESULT_COLUMNS}


def _run(i: int, devices: int) -> dict[str, Any]:
    at = START + timedelta(minutes=i)
    return {
        "run_id": f"r-{at:%Y%m%dT%H%M%S}Z-{i:06x}",
        "started_at": at.isoformat(),
        "finished_at": at.isoformat(),
        "trigger": "test",
        "packs": ["ios-hardening", "topology"],
        "devices": devices,
        "evaluated": devices,
        "reused": 0,
        "summary": {s: 0 for s in STATUSES},
        "fingerprints": {},
        "packs_digest": "p",
    }


def _runs(count: int, seed: int) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Runs over a changing network: each run changes a few devices' results, removes some,
    adds new ones, brings one back; now and then nearly everything changes."""
    rng = random.Random(seed)
    sets = {f"sw-{n:03d}": [_row(f"sw-{n:03d}", p, r, rng) for p, r in RULES] for n in range(40)}
    out = []
    gone: dict[str, list[dict[str, Any]]] = {}
    for i in range(count):
        if i:
            churn = 35 if i % 7 == 0 else rng.randint(0, 4)
            for device in rng.sample(sorted(sets), min(churn, len(sets))):
                sets[device] = [_row(device, p, r, rng) for p, r in RULES]
            for device in rng.sample(sorted(sets), rng.randint(0, 2)):
                gone[device] = sets.pop(device)
            if gone and rng.random() < 0.5:
                back = rng.choice(sorted(gone))
                sets[back] = gone.pop(back)
            for _ in range(rng.randint(0, 2)):
                device = f"new-{i:03d}-{rng.randint(0, 999):03d}"
                sets[device] = [_row(device, p, r, rng) for p, r in RULES]
        rows = sorted(
            (r for device_rows in sets.values() for r in device_rows),
            key=lambda r: (r["device"], r["pack"], r["rule"]),
        )
        out.append((_run(i, len(sets)), [dict(r) for r in rows]))
    return out


def _expected(rows: list[dict[str, Any]], **filters: str) -> list[dict[str, Any]]:
    return [r for r in rows if all(not v or r[k] == v for k, v in filters.items())]


async def _check(history: History, saved: dict[str, list[dict[str, Any]]]) -> None:
    kept = [r["run_id"] for r in await history.runs()]
    for run_id in kept:
        rows = saved[run_id]
        assert await history.rows(run_id) == rows, run_id
        device = rows[len(rows) // 2]["device"] if rows else ""
        for filters in (
            {"device": device},
            {"status": "fail"},
            {"rule": "ios-r3", "status": "pass"},
            {"pack": "topology"},
            {"device": device, "status": "unknown"},
        ):
            assert await history.rows(run_id, **filters) == _expected(rows, **filters), filters
        record = await history.run(run_id)
        assert record is not None and "rows" not in record and "changed" not in record


@pytest.fixture
async def pg_pool(stack: Any) -> AsyncIterator[Any]:
    async with fresh_database(stack.postgres_url, "meshq_ch") as url:
        pool = await create_pool(PostgresSettings(postgres_url=url))
        try:
            yield pool
        finally:
            await pool.close()


Runs = list[tuple[dict[str, Any], list[dict[str, Any]]]]


async def _replay(
    history: History, runs: Runs, saved: dict[str, list[dict[str, Any]]] | None = None
) -> dict[str, list[dict[str, Any]]]:
    saved = dict(saved or {})
    for run, rows in runs:
        await history.save(run, rows)
        saved[run["run_id"]] = rows
        await _check(history, saved)
    return saved


@pytest.mark.parametrize("seed", [1, 2])
async def test_files_answer_every_kept_run_as_saved(tmp_path: Path, seed: int) -> None:
    history = FileHistory(tmp_path / "runs", keep=6)
    runs = _runs(20, seed)
    await _replay(history, runs)
    assert len(await history.runs()) == 6
    # a fresh reader (nothing cached) reads the same from the files alone
    saved = {run["run_id"]: rows for run, rows in runs}
    await _check(FileHistory(tmp_path / "runs", keep=6), saved)
    files = sorted((tmp_path / "runs").glob("r-*.json.gz"))
    documents = [json.loads(gzip.decompress(p.read_bytes())) for p in files]
    assert "rows" in documents[0], "the oldest kept run is written whole"
    assert any("changed" in d for d in documents[1:]), "later runs are deltas"


@pytest.mark.parametrize("seed", [1, 2])
async def test_postgres_answers_every_kept_run_as_saved(pg_pool: Any, seed: int) -> None:
    history = PostgresHistory(pg_pool, keep=6)
    runs = _runs(20, seed)
    await _replay(history, runs)
    saved = {run["run_id"]: rows for run, rows in runs}
    await _check(PostgresHistory(pg_pool, keep=6), saved)  # nothing cached
    kept = {r["run_id"] for r in await history.runs()}
    assert len(kept) == 6
    # no set is kept that no kept run reads
    oldest = min(kept)
    stale = await pg_pool.fetchval(
        "SELECT count(*) FROM compliance_device_results c WHERE c.run_id < $1 AND EXISTS"
        " (SELECT 1 FROM compliance_device_results n WHERE n.device = c.device"
        " AND n.run_id > c.run_id AND n.run_id <= $1)",
        oldest,
    )
    assert stale == 0


async def test_one_changed_device_is_one_set(pg_pool: Any, tmp_path: Path) -> None:
    rng = random.Random(7)
    first = [_row(f"d{n}", p, r, rng) for n in range(10) for p, r in RULES]
    second = [dict(r) for r in first]
    second[0] = {**second[0], "status": "fail" if second[0]["status"] != "fail" else "pass"}
    runs = [(_run(0, 10), first), (_run(1, 10), second)]
    pg = PostgresHistory(pg_pool)
    files = FileHistory(tmp_path / "runs")
    for run, rows in runs:
        await pg.save(run, rows)
        await files.save(run, rows)
    counts = await pg_pool.fetch(
        "SELECT run_id, count(*) AS n FROM compliance_device_results GROUP BY run_id"
    )
    assert sorted(r["n"] for r in counts) == [1, 10]
    delta = json.loads(
        gzip.decompress((tmp_path / "runs" / f"{runs[1][0]['run_id']}.json.gz").read_bytes())
    )
    assert list(delta["changed"]) == ["d0"] and delta["removed"] == []
    assert await pg.rows(runs[1][0]["run_id"]) == second
    assert await files.rows(runs[1][0]["run_id"]) == second


async def test_runs_in_the_earlier_layout_are_read_and_followed(
    pg_pool: Any, tmp_path: Path
) -> None:
    runs = _runs(8, 3)
    legacy, later = runs[:3], runs[3:]
    # files: whole documents, as the earlier layout wrote every run
    directory = tmp_path / "runs"
    directory.mkdir()
    for run, rows in legacy:
        document = {**run, "rows": rows}
        (directory / f"{run['run_id']}.json.gz").write_bytes(
            gzip.compress(json.dumps(document).encode())
        )
    # PostgreSQL: the earlier two tables and their rows, then today's schema on top
    async with pg_pool.acquire() as conn:
        for statement in MIGRATIONS[:2]:
            await conn.execute(statement)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS meshq_schema_version (component text PRIMARY KEY,"
            " version integer NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        await conn.execute("INSERT INTO meshq_schema_version VALUES ('compliance', 2)")
        for run, rows in legacy:
            await conn.execute(
                "INSERT INTO compliance_runs VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                run["run_id"],
                datetime.fromisoformat(run["started_at"]),
                datetime.fromisoformat(run["finished_at"]),
                run["trigger"],
                json.dumps(run["packs"]),
                run["devices"],
                run["evaluated"],
                run["reused"],
                json.dumps(run["summary"]),
                "{}",
            )
            await conn.copy_records_to_table(
                "compliance_results",
                records=[
                    (
                        run["run_id"],
                        *(json.dumps(r[c]) if c == "evidence" else r[c] for c in RESULT_COLUMNS),
                    )
                    for r in rows
                ],
                columns=["run_id", *RESULT_COLUMNS],
            )
    saved = {run["run_id"]: rows for run, rows in legacy}
    for history in (FileHistory(directory, keep=4), PostgresHistory(pg_pool, keep=4)):
        await _check(history, saved)
        await _replay(history, later, saved)  # keep=4: the earlier runs are dropped on the way
        assert len(await history.runs()) == 4
    assert await pg_pool.fetchval("SELECT count(*) FROM compliance_results") == 0
