"""The history of compliance runs: PostgreSQL where ``MESHQ_POSTGRES_URL`` is set, else files
in the state directory. Either keeps the newest :data:`KEEP_RUNS` runs, each with the
fingerprint of each device's inputs (what lets the next run reuse a device's results while
nothing it reads has changed) and its results.

A run keeps only what changed since the run before it: the result rows of each device whose
rows differ from that run's (a device's rows are kept whole, as one set), and the devices that
are gone. A run's rows are the newest set of each device up to that run. Files: the oldest
kept run holds every row (a "full" run); each later one a delta over the run before it, and
when the oldest is dropped the next one is written full. PostgreSQL: one row per device and
run that changed it (``compliance_device_results``); a set no kept run reads any more is
deleted. Runs written before this layout keep their rows as they were (whole, and in
``compliance_results``) and are read as before.
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


#: A run's rows per device, each device's rows without the device column (in pack, rule order).
State = dict[str, list[dict[str, Any]]]
_ROW_COLUMNS = RESULT_COLUMNS[1:]
assert RESULT_COLUMNS[0] == "device"
#: A delta run larger than this share of the devices is written full instead.
FULL_ABOVE = 0.5


def group_rows(rows: Sequence[dict[str, Any]]) -> State:
    """Rows (sorted by device) as sets per device, without the device column."""
    state: State = {}
    for row in rows:
        state.setdefault(row["device"], []).append({c: row[c] for c in _ROW_COLUMNS})
    return state


def state_rows(state: State, **filters: str) -> list[dict[str, Any]]:
    """The rows of a state, in device, pack, rule order, filtered."""
    device = filters.get("device", "")
    devices = [device] if device else sorted(state)
    # device first, then the other columns in their order: RESULT_COLUMNS' order
    rows = [{"device": d, **r} for d in devices for r in state.get(d, ())]
    return filter_rows(rows, **filters)


def _delta(before: State, after: State) -> tuple[State, list[str]]:
    changed = {d: rows for d, rows in after.items() if before.get(d) != rows}
    return changed, sorted(d for d in before if d not in after)


class History(Protocol):
    async def save(self, run: dict[str, Any], rows: list[dict[str, Any]]) -> None: ...

    async def runs(self, limit: int = KEEP_RUNS) -> list[dict[str, Any]]: ...

    async def run(self, run_id: str) -> dict[str, Any] | None: ...

    async def rows(
        self, run_id: str, *, device: str = "", rule: str = "", status: str = "", pack: str = ""
    ) -> list[dict[str, Any]]: ...


class FileHistory:
    """One gzip JSON file per run under ``directory`` (names sort by time): a full run holds
    ``rows``, a delta run ``changed`` (device: rows), ``removed`` and the ``previous`` run."""

    def __init__(self, directory: Path, keep: int = KEEP_RUNS) -> None:
        self.directory = directory
        self.keep = keep
        #: The run last written or read, as a document and as its state: the next run reads
        #: it back at once.
        self._cached: tuple[str, dict[str, Any]] | None = None
        self._state: tuple[str, State] | None = None

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

    def _materialize(self, run_id: str) -> State | None:
        """The run's rows per device: its full rows, or the deltas since the last full run
        before it applied in order (None when a run of that chain cannot be read)."""
        if self._state is not None and self._state[0] == run_id:
            return self._state[1]
        chain: list[dict[str, Any]] = []
        current: str | None = run_id
        state: State | None = None
        while current is not None and len(chain) <= self.keep + 1:
            if self._state is not None and self._state[0] == current and chain:
                state = {d: list(rows) for d, rows in self._state[1].items()}
                break
            document = self._load(current)
            if document is None:
                return None
            if "rows" in document:
                state = group_rows(document["rows"])
                break
            chain.append(document)
            current = document.get("previous")
        if state is None:
            return None
        for document in reversed(chain):
            for device in document.get("removed") or ():
                state.pop(device, None)
            state.update(document.get("changed") or {})
        self._state = (run_id, state)
        return state

    def _write(self, path: Path, document: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".run-")
        try:
            data = gzip.compress(
                json.dumps(document, separators=(",", ":")).encode(), compresslevel=1
            )
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def save(self, run: dict[str, Any], rows: list[dict[str, Any]]) -> None:
        await asyncio.to_thread(self._save, run, rows)

    def _save(self, run: dict[str, Any], rows: list[dict[str, Any]]) -> None:
        path = self._path(run["run_id"])
        if path is None:
            raise ValueError(f"invalid run id {run['run_id']!r}")
        self.directory.mkdir(parents=True, exist_ok=True)
        state = group_rows(rows)
        ids = [i for i in self._ids() if i < run["run_id"]]
        before = self._materialize(ids[-1]) if ids else None
        document: dict[str, Any]
        if before is None:
            document = {**run, "rows": rows}
        else:
            changed, removed = _delta(before, state)
            if len(changed) > FULL_ABOVE * max(1, len(state)):
                document = {**run, "rows": rows}
            else:
                document = {**run, "previous": ids[-1], "changed": changed, "removed": removed}
        self._write(path, document)
        self._cached = (run["run_id"], document)
        self._state = (run["run_id"], state)
        self._prune()

    def _prune(self) -> None:
        ids = self._ids()
        if len(ids) <= self.keep:
            return
        oldest = ids[-self.keep]
        document = self._load(oldest)
        if document is not None and "rows" not in document:
            # the runs it builds on go: it is written whole first
            state = self._materialize(oldest)
            if state is not None:
                full = {
                    k: v for k, v in document.items() if k not in ("previous", "changed", "removed")
                }
                full["rows"] = state_rows(state)
                path = self._path(oldest)
                assert path is not None
                self._write(path, full)
                self._cached = (oldest, full)
        for old in ids[: -self.keep]:
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
        return {k: v for k, v in document.items() if k not in _STORED_KEYS}

    async def rows(
        self, run_id: str, *, device: str = "", rule: str = "", status: str = "", pack: str = ""
    ) -> list[dict[str, Any]]:
        state = await asyncio.to_thread(self._materialize, run_id)
        if state is None:
            return []
        return state_rows(state, device=device, rule=rule, status=status, pack=pack)


_STORED_KEYS = frozenset({"rows", "previous", "changed", "removed"})


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
    # runs from here on keep only what changed (stored 'delta'); earlier ones their rows
    "ALTER TABLE compliance_runs ADD COLUMN IF NOT EXISTS stored text NOT NULL DEFAULT 'rows'",
    "CREATE TABLE IF NOT EXISTS compliance_device_results ("
    " device text NOT NULL, run_id text NOT NULL, statuses text[], rows jsonb,"
    " PRIMARY KEY (device, run_id))",
)


class PostgresHistory:
    """Runs in ``compliance_runs``; each run's changed device sets in
    ``compliance_device_results`` (``rows`` null: the device is gone); runs kept from before
    that layout have their rows in ``compliance_results``."""

    def __init__(self, pool: asyncpg.Pool, keep: int = KEEP_RUNS) -> None:
        self._pool = pool
        self.keep = keep
        self._ready = False
        #: The newest run written or read whole here, as sets: what the next save compares to.
        self._state: tuple[str, State] | None = None

    async def _schema(self) -> None:
        if not self._ready:
            from meshq_runtime.postgres import apply_migrations

            await apply_migrations(self._pool, "compliance", MIGRATIONS)
            self._ready = True

    async def _previous_state(self, conn: Any, run_id: str) -> tuple[str, State] | None:
        """The newest delta run before ``run_id`` and its sets, or None when there is none."""
        previous = await conn.fetchval(
            "SELECT max(run_id) FROM compliance_runs WHERE stored = 'delta' AND run_id < $1",
            run_id,
        )
        if previous is None:
            return None
        if self._state is not None and self._state[0] == previous:
            return self._state
        return previous, await self._sets(conn, previous)

    @staticmethod
    async def _sets(conn: Any, run_id: str, device: str = "", status: str = "") -> State:
        records = await conn.fetch(
            "SELECT device, rows FROM (SELECT DISTINCT ON (device) device, rows, statuses"
            " FROM compliance_device_results WHERE run_id <= $1 AND ($2 = '' OR device = $2)"
            " ORDER BY device, run_id DESC) newest"
            " WHERE rows IS NOT NULL AND ($3 = '' OR $3 = ANY(statuses)) ORDER BY device",
            run_id,
            device,
            status,
        )
        return {r["device"]: json.loads(r["rows"]) for r in records}

    async def save(self, run: dict[str, Any], rows: list[dict[str, Any]]) -> None:
        await self._schema()
        from datetime import datetime

        state = group_rows(rows)
        async with self._pool.acquire() as conn, conn.transaction():
            before = await self._previous_state(conn, run["run_id"])
            removed: list[str] = []
            if before is None:
                changed = state
            else:
                changed, removed = _delta(before[1], state)
            await conn.execute(
                "INSERT INTO compliance_runs (run_id, started_at, finished_at, trigger, packs,"
                " devices, evaluated, reused, summary, fingerprints, stored)"
                " VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9::jsonb, $10::jsonb,"
                " 'delta')",
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
            records: list[tuple[Any, ...]] = [
                (
                    device,
                    run["run_id"],
                    sorted({r["status"] for r in device_rows}),
                    json.dumps(device_rows, separators=(",", ":")),
                )
                for device, device_rows in changed.items()
            ]
            records += [(device, run["run_id"], None, None) for device in removed]
            await conn.copy_records_to_table(
                "compliance_device_results",
                records=records,
                columns=["device", "run_id", "statuses", "rows"],
            )
            await conn.execute(
                "DELETE FROM compliance_runs WHERE run_id NOT IN"
                " (SELECT run_id FROM compliance_runs ORDER BY run_id DESC LIMIT $1)",
                self.keep,
            )
            await self._prune(conn)
        self._state = (run["run_id"], state)

    @staticmethod
    async def _prune(conn: Any) -> None:
        """Delete the sets no kept run reads: those a later set replaced at or before the
        oldest kept delta run, and the marks of devices gone by then."""
        oldest = await conn.fetchval(
            "SELECT min(run_id) FROM compliance_runs WHERE stored = 'delta'"
        )
        if oldest is None:
            await conn.execute("DELETE FROM compliance_device_results")
            return
        await conn.execute(
            "DELETE FROM compliance_device_results c WHERE c.run_id < $1 AND EXISTS"
            " (SELECT 1 FROM compliance_device_results n WHERE n.device = c.device"
            " AND n.run_id > c.run_id AND n.run_id <= $1)",
            oldest,
        )
        await conn.execute(
            "DELETE FROM compliance_device_results WHERE rows IS NULL AND run_id <= $1", oldest
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
            "SELECT run_id, started_at, finished_at, trigger, packs, devices, evaluated,"
            " reused, summary, fingerprints FROM compliance_runs WHERE run_id = $1",
            run_id,
        )
        return None if record is None else self._run(record, full=True)

    async def rows(
        self, run_id: str, *, device: str = "", rule: str = "", status: str = "", pack: str = ""
    ) -> list[dict[str, Any]]:
        await self._schema()
        stored = await self._pool.fetchval(
            "SELECT stored FROM compliance_runs WHERE run_id = $1", run_id
        )
        if stored is None:
            return []
        if stored == "delta":
            cached = self._state
            if cached is not None and cached[0] == run_id:
                state = cached[1]
            else:
                async with self._pool.acquire() as conn:
                    state = await self._sets(conn, run_id, device, status)
                if not device and not status:
                    self._state = (run_id, state)
            return state_rows(state, device=device, rule=rule, status=status, pack=pack)
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
