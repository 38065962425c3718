"""The history of compliance runs: PostgreSQL where ``MESHQ_POSTGRES_URL`` is set, else files
in the state directory. Either keeps the newest :data:`KEEP_RUNS` runs, each with every
result row and the fingerprint of each device's inputs (what lets the next run reuse a
device's results while nothing it reads has changed).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import asyncpg

from meshq_graph_engine.compliance.evaluate import RESULT_COLUMNS

__all__ = ["KEEP_RUNS", "MIGRATIONS", "FileHistory", "History", "PostgresHistory", "filter_rows"]

#: Runs kept; older ones are dropped as new ones land.
KEEP_RUNS = 100
_RUN_ID = re.compile(r"^r-\d{8}T\d{6}(?:\d{6})?Z-[0-9a-f]{6}$")
#: The columns of a run's record (besides its rows and fingerprints).
RUN_FIELDS = (
    "run_id",
    "started_at",
    "finished_at",
    "trigger",
    "packs",
    "devices",
    "evaluated",
    "reused",
    "summary",
)


def filter_rows(
    rows: Sequence[dict[str, Any]],
    *,
    device: str = "",
    rule: str = "",
    status: str = "",
    pack: str = "",
) -> list[dict[str, Any]]:
    return [
        r
        for r in rows
        if (not device or r["device"] == device)
        and (not rule or r["rule"] == rule)
        and (not status or r["status"] == status)
        and (not pack or r["pack"] == pack)
    ]


class History(Protocol):
    async def save(self, run: dict[str, Any], rows: list[dict[str, Any]]) -> None: ...

    async def runs(self, limit: int = KEEP_RUNS) -> list[dict[str, Any]]: ...

    async def run(self, run_id: str) -> dict[str, Any] | None: ...

    async def rows(
        self, run_id: str, *, device: str = "", rule: str = "", status: str = "", pack: str = ""
    ) -> list[dict[str, Any]]: ...


class FileHistory:
    """One gzip JSON file per run under ``directory`` (names sort by time)."""

    def __init__(self, directory: Path, keep: int = KEEP_RUNS) -> None:
        self.directory = directory
        self.keep = keep
        #: The run last written or read, whole: the next run reads it back at once.
        self._cached: tuple[str, dict[str, Any]] | None = None

    def _path(self, run_id: str) -> Path | None:
        return self.directory / f"{run_id}.json.gz" if _RUN_ID.match(run_id) else None

    def _load(self, run_id: str) -> dict[str, Any] | None:
        path = self._path(run_id)
        if path is None:
            return None
        cached = self._cached
        if cached is not None and cached[0] == run_id:
            return cached[1]
        try:
            with gzip.open(path, "rt", encoding="utf-8") as src:
                document: dict[str, Any] = json.load(src)
        except (FileNotFoundError, OSError, ValueError):
            return None
        self._cached = (run_id, document)
        return document

    async def save(self, run: dict[str, Any], rows: list[dict[str, Any]]) -> None:
        await asyncio.to_thread(self._save, run, rows)

    def _save(self, run: dict[str, Any], rows: list[dict[str, Any]]) -> None:
        path = self._path(run["run_id"])
        if path is None:
            raise ValueError(f"invalid run id {run['run_id']!r}")
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".run-")
        try:
            document = {**run, "rows": rows}
            data = gzip.compress(
                json.dumps(document, separators=(",", ":")).encode(), compresslevel=1
            )
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
            self._cached = (run["run_id"], document)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        for old in self._ids()[: -self.keep]:
            (self.directory / f"{old}.json.gz").unlink(missing_ok=True)

    def _ids(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        names = (p.name.removesuffix(".json.gz") for p in self.directory.glob("r-*.json.gz"))
        return sorted(n for n in names if _RUN_ID.match(n))

    async def runs(self, limit: int = KEEP_RUNS) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._runs, limit)

    def _runs(self, limit: int) -> list[dict[str, Any]]:
        found = []
        for run_id in reversed(self._ids()[-limit:] if limit else []):
            document = self._load(run_id)
            if document is not None:
                found.append({k: document.get(k) for k in RUN_FIELDS})
        return found

    async def run(self, run_id: str) -> dict[str, Any] | None:
        document = await asyncio.to_thread(self._load, run_id)
        if document is None:
            return None
        return {k: v for k, v in document.items() if k != "rows"}

    async def rows(
        self, run_id: str, *, device: str = "", rule: str = "", status: str = "", pack: str = ""
    ) -> list[dict[str, Any]]:
        document = await asyncio.to_thread(self._load, run_id)
        if document is None:
            return []
        rows: list[dict[str, Any]] = document["rows"]
        return filter_rows(rows, device=device, rule=rule, status=status, pack=pack)


MIGRATIONS = (
    "CREATE TABLE IF NOT EXISTS compliance_runs ("
    " run_id text PRIMARY KEY, started_at timestamptz NOT NULL,"
    " finished_at timestamptz NOT NULL, trigger text NOT NULL, packs jsonb NOT NULL,"
    " devices integer NOT NULL, evaluated integer NOT NULL, reused integer NOT NULL,"
    " summary jsonb NOT NULL, fingerprints jsonb NOT NULL)",
    "CREATE TABLE IF NOT EXISTS compliance_results ("
    " run_id text NOT NULL REFERENCES compliance_runs (run_id) ON DELETE CASCADE,"
    " device text NOT NULL, pack text NOT NULL, rule text NOT NULL, title text NOT NULL,"
    " severity text NOT NULL, source text NOT NULL, status text NOT NULL,"
    " message text NOT NULL, evidence jsonb NOT NULL, remediation text NOT NULL,"
    " PRIMARY KEY (run_id, device, pack, rule))",
)


class PostgresHistory:
    """Runs and their rows in two tables (``compliance_runs``, ``compliance_results``)."""

    def __init__(self, pool: asyncpg.Pool, keep: int = KEEP_RUNS) -> None:
        self._pool = pool
        self.keep = keep
        self._ready = False

    async def _schema(self) -> None:
        if not self._ready:
            from meshq_runtime.postgres import apply_migrations

            await apply_migrations(self._pool, "compliance", MIGRATIONS)
            self._ready = True

    async def save(self, run: dict[str, Any], rows: list[dict[str, Any]]) -> None:
        await self._schema()
        from datetime import datetime

        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO compliance_runs (run_id, started_at, finished_at, trigger, packs,"
                " devices, evaluated, reused, summary, fingerprints)"
                " VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9::jsonb, $10::jsonb)",
                run["run_id"],
                datetime.fromisoformat(run["started_at"]),
                datetime.fromisoformat(run["finished_at"]),
                run["trigger"],
                json.dumps(run["packs"]),
                run["devices"],
                run["evaluated"],
                run["reused"],
                json.dumps(run["summary"]),
                json.dumps(run.get("fingerprints", {})),
            )
            await conn.copy_records_to_table(
                "compliance_results",
                records=[(run["run_id"], *(_cell(r, c) for c in RESULT_COLUMNS)) for r in rows],
                columns=["run_id", *RESULT_COLUMNS],
            )
            await conn.execute(
                "DELETE FROM compliance_runs WHERE run_id NOT IN"
                " (SELECT run_id FROM compliance_runs ORDER BY run_id DESC LIMIT $1)",
                self.keep,
            )

    @staticmethod
    def _run(record: asyncpg.Record, full: bool) -> dict[str, Any]:
        run = {
            "run_id": record["run_id"],
            "started_at": record["started_at"].isoformat(),
            "finished_at": record["finished_at"].isoformat(),
            "trigger": record["trigger"],
            "packs": json.loads(record["packs"]),
            "devices": record["devices"],
            "evaluated": record["evaluated"],
            "reused": record["reused"],
            "summary": json.loads(record["summary"]),
        }
        if full:
            run["fingerprints"] = json.loads(record["fingerprints"])
        return run

    async def runs(self, limit: int = KEEP_RUNS) -> list[dict[str, Any]]:
        await self._schema()
        records = await self._pool.fetch(
            "SELECT run_id, started_at, finished_at, trigger, packs, devices, evaluated,"
            " reused, summary FROM compliance_runs ORDER BY run_id DESC LIMIT $1",
            limit,
        )
        return [self._run(r, full=False) for r in records]

    async def run(self, run_id: str) -> dict[str, Any] | None:
        await self._schema()
        record = await self._pool.fetchrow(
            "SELECT * FROM compliance_runs WHERE run_id = $1", run_id
        )
        return None if record is None else self._run(record, full=True)

    async def rows(
        self, run_id: str, *, device: str = "", rule: str = "", status: str = "", pack: str = ""
    ) -> list[dict[str, Any]]:
        await self._schema()
        records = await self._pool.fetch(
            "SELECT device, pack, rule, title, severity, source, status, message, evidence,"
            " remediation FROM compliance_results WHERE run_id = $1"
            " AND ($2 = '' OR device = $2) AND ($3 = '' OR rule = $3)"
            " AND ($4 = '' OR status = $4) AND ($5 = '' OR pack = $5)"
            " ORDER BY device, pack, rule",
            run_id,
            device,
            rule,
            status,
            pack,
        )
        return [{**dict(r), "evidence": json.loads(r["evidence"])} for r in records]


def _cell(row: dict[str, Any], column: str) -> Any:
    value = row[column]
    return json.dumps(value) if column == "evidence" else value
