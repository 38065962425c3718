"""Probe definitions and results in PostgreSQL.

- ``synthetic_probes``: one row per probe: its definition (jsonb) and where it came from
  (``file``: ``MESHQ_PROBES_FILE``, replaced at every start; ``api``: created through the API).
- ``synthetic_results``: one row per run: success, phase timings, status, error, and for a
  failure the path graph-engine computed. Rows older than the retention are deleted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

__all__ = ["MIGRATIONS", "SERVICE", "ProbeStore", "init_connection", "path_brief"]

SERVICE = "prober"
#: Rows deleted per statement by :meth:`ProbeStore.expire`.
EXPIRE_BATCH = 10_000

MIGRATIONS = [
    "CREATE TABLE IF NOT EXISTS synthetic_probes ("
    " name text PRIMARY KEY, kind text NOT NULL, spec jsonb NOT NULL,"
    " origin text NOT NULL CHECK (origin IN ('file', 'api')),"
    " created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)",
    "CREATE TABLE IF NOT EXISTS synthetic_results ("
    " id bigserial PRIMARY KEY, probe text NOT NULL, at timestamptz NOT NULL,"
    " success boolean NOT NULL, phases jsonb NOT NULL, status_code int, error text,"
    " detail jsonb NOT NULL, path jsonb)",
    "CREATE INDEX IF NOT EXISTS synthetic_results_probe_at ON synthetic_results (probe, at DESC)",
    "CREATE INDEX IF NOT EXISTS synthetic_results_at ON synthetic_results (at)",
]


async def init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda v: json.dumps(v, default=str, ensure_ascii=False),
        decoder=json.loads,
        schema="pg_catalog",
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


class ProbeStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    # definitions ---------------------------------------------------------------------------

    async def replace_file_probes(self, specs: Sequence[dict[str, Any]], now: datetime) -> None:
        """The file's probes become exactly ``specs`` (API probes of other names stay; an API
        probe of the same name is replaced by the file's)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "DELETE FROM synthetic_probes WHERE origin = 'file' AND NOT (name = ANY($1))",
                [s["name"] for s in specs],
            )
            await conn.executemany(
                "INSERT INTO synthetic_probes (name, kind, spec, origin, created_at, updated_at)"
                " VALUES ($1, $2, $3, 'file', $4, $4) ON CONFLICT (name) DO UPDATE SET"
                " kind = EXCLUDED.kind, spec = EXCLUDED.spec, origin = 'file', updated_at = $4",
                [(s["name"], s["kind"], s, now) for s in specs],
            )

    async def create(self, spec: dict[str, Any], now: datetime, max_probes: int) -> str:
        """``created``, ``exists`` (that name is taken) or ``full`` (at ``max_probes``)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("LOCK TABLE synthetic_probes IN SHARE ROW EXCLUSIVE MODE")
            if await conn.fetchval("SELECT count(*) FROM synthetic_probes") >= max_probes:
                return "full"
            inserted = await conn.fetchval(
                "INSERT INTO synthetic_probes (name, kind, spec, origin, created_at, updated_at)"
                " VALUES ($1, $2, $3, 'api', $4, $4) ON CONFLICT (name) DO NOTHING"
                " RETURNING name",
                spec["name"],
                spec["kind"],
                spec,
                now,
            )
            return "created" if inserted else "exists"

    async def delete(self, name: str) -> str:
        """``deleted``, ``not_found`` or ``file`` (defined in the file: change the file)."""
        async with self._pool.acquire() as conn, conn.transaction():
            origin = await conn.fetchval(
                "SELECT origin FROM synthetic_probes WHERE name = $1 FOR UPDATE", name
            )
            if origin is None:
                return "not_found"
            if origin == "file":
                return "file"
            await conn.execute("DELETE FROM synthetic_probes WHERE name = $1", name)
            return "deleted"

    async def update(self, spec: dict[str, Any], now: datetime) -> str:
        """Replace an API probe's definition: ``updated``, ``not_found`` or ``file`` (defined
        in the file: change the file). Its results stay, under the same name."""
        async with self._pool.acquire() as conn, conn.transaction():
            origin = await conn.fetchval(
                "SELECT origin FROM synthetic_probes WHERE name = $1 FOR UPDATE", spec["name"]
            )
            if origin is None:
                return "not_found"
            if origin == "file":
                return "file"
            await conn.execute(
                "UPDATE synthetic_probes SET kind = $2, spec = $3, updated_at = $4 WHERE name = $1",
                spec["name"],
                spec["kind"],
                spec,
                now,
            )
            return "updated"

    async def definitions(self) -> list[dict[str, Any]]:
        rows = await self._pool.fetch("SELECT spec FROM synthetic_probes ORDER BY name")
        return [dict(r["spec"]) for r in rows]

    # results -------------------------------------------------------------------------------

    async def record(
        self,
        probe: str,
        at: datetime,
        success: bool,
        phases: dict[str, float],
        status_code: int | None,
        error: str | None,
        detail: dict[str, Any],
        path: dict[str, Any] | None,
    ) -> None:
        await self._pool.execute(
            "INSERT INTO synthetic_results"
            " (probe, at, success, phases, status_code, error, detail, path)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            probe,
            at,
            success,
            phases,
            status_code,
            error,
            detail,
            path,
        )

    async def expire(self, before: datetime) -> int:
        """Delete results older than ``before``, in batches; the count deleted."""
        total = 0
        while True:
            status = await self._pool.execute(
                "DELETE FROM synthetic_results WHERE id IN (SELECT id FROM synthetic_results"
                " WHERE at < $1 LIMIT $2)",
                before,
                EXPIRE_BATCH,
            )
            n = int(status.split()[-1])
            total += n
            if n < EXPIRE_BATCH:
                return total

    async def probes(
        self,
        *,
        kind: str | None,
        name: str | None,
        state: str | None = None,
        limit: int,
        offset: int,
    ) -> tuple[list[dict[str, Any]], int]:
        """Definitions with the latest result of each (``state``: up, down or unknown)."""
        rows = await self._pool.fetch(
            "WITH s AS (SELECT p.name, p.kind, p.spec, p.origin,"
            "   r.at, r.success, r.phases, r.status_code, r.error, r.path,"
            "   CASE WHEN r.at IS NULL THEN 'unknown' WHEN r.success THEN 'up' ELSE 'down' END"
            "     AS state,"
            "   (SELECT max(at) FROM synthetic_results x WHERE x.probe = p.name AND x.success)"
            "     AS last_success_at"
            " FROM synthetic_probes p LEFT JOIN LATERAL ("
            "   SELECT at, success, phases, status_code, error, path FROM synthetic_results"
            "   WHERE probe = p.name ORDER BY at DESC LIMIT 1) r ON true"
            " WHERE ($1::text IS NULL OR p.kind = $1) AND ($2::text IS NULL OR p.name = $2))"
            " SELECT s.*, (SELECT count(*) FROM synthetic_results f WHERE f.probe = s.name"
            "   AND NOT f.success AND f.at > coalesce(s.last_success_at, '-infinity'))"
            "   AS failures, count(*) OVER () AS total"
            " FROM s WHERE ($3::text IS NULL OR s.state = $3)"
            " ORDER BY s.name LIMIT $4 OFFSET $5",
            kind,
            name,
            state,
            limit,
            offset,
        )
        total = int(rows[0]["total"]) if rows else 0
        out = []
        for r in rows:
            spec = dict(r["spec"])
            out.append(
                {
                    "name": r["name"],
                    "kind": r["kind"],
                    "target": _target(spec),
                    "source": spec.get("source"),
                    "interval_s": spec.get("interval_s"),
                    "timeout_s": spec.get("timeout_s"),
                    "origin": r["origin"],
                    "definition": spec,
                    "state": r["state"],
                    "last_run_at": _iso(r["at"]),
                    "last_success_at": _iso(r["last_success_at"]),
                    "last_phases": r["phases"] or {},
                    "last_status_code": r["status_code"],
                    "last_error": r["error"],
                    "failures": int(r["failures"]),
                    **path_brief(r["path"] if r["state"] == "down" else None),
                    "path": r["path"],
                }
            )
        return out, total

    async def window(
        self, *, since: datetime, name: str | None, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        """Per probe over the window: runs, success rate, p50/p95 of each phase (successful
        runs), and the latest error."""
        rows = await self._pool.fetch(
            "WITH r AS (SELECT * FROM synthetic_results WHERE at >= $1"
            "   AND ($2::text IS NULL OR probe = $2)),"
            " counts AS (SELECT probe, count(*) AS runs,"
            "   count(*) FILTER (WHERE success) AS successes FROM r GROUP BY probe),"
            " phases AS (SELECT probe, key AS phase, count(*) AS samples,"
            "   percentile_cont(0.5) WITHIN GROUP (ORDER BY value::float8) AS p50,"
            "   percentile_cont(0.95) WITHIN GROUP (ORDER BY value::float8) AS p95"
            "   FROM r, jsonb_each_text(r.phases) WHERE r.success GROUP BY probe, key),"
            " last_error AS (SELECT DISTINCT ON (probe) probe, at, error, path FROM r"
            "   WHERE NOT success ORDER BY probe, at DESC)"
            " SELECT c.probe, c.runs, c.successes, p.kind,"
            "   (SELECT jsonb_object_agg(phase, jsonb_build_object('p50_ms', p50,"
            "      'p95_ms', p95, 'samples', samples)) FROM phases f WHERE f.probe = c.probe)"
            "     AS phases,"
            "   e.at AS error_at, e.error, e.path, count(*) OVER () AS total"
            " FROM counts c LEFT JOIN last_error e ON e.probe = c.probe"
            " LEFT JOIN synthetic_probes p ON p.name = c.probe"
            " ORDER BY c.probe LIMIT $3 OFFSET $4",
            since,
            name,
            limit,
            offset,
        )
        total = int(rows[0]["total"]) if rows else 0
        out = []
        for r in rows:
            phases = {
                k: {
                    "p50_ms": round(float(v["p50_ms"]), 3),
                    "p95_ms": round(float(v["p95_ms"]), 3),
                    "samples": int(v["samples"]),
                }
                for k, v in sorted((r["phases"] or {}).items())
            }
            out.append(
                {
                    "probe": r["probe"],
                    "kind": r["kind"],
                    "runs": int(r["runs"]),
                    "successes": int(r["successes"]),
                    "success_rate": round(r["successes"] / r["runs"], 4),
                    "phases": phases,
                    "last_error": r["error"],
                    "last_error_at": _iso(r["error_at"]),
                    "last_error_path": r["path"],
                }
            )
        return out, total


def path_brief(path: dict[str, Any] | None) -> dict[str, Any]:
    """A failing probe's path in three plain columns (what an alert's summary can name):
    ``path_verdict`` (allowed, denied, no_path; unknown when it could not be computed),
    ``path_reason``, and ``stopped_at_device``, the hop where a route or a filter stops it."""
    if not path:
        return {"path_verdict": None, "path_reason": None, "stopped_at_device": None}
    if path.get("status") != "known":
        return {
            "path_verdict": "unknown",
            "path_reason": str(path.get("reason") or "")[:300] or None,
            "stopped_at_device": None,
        }
    stop = path.get("stopped_at") or {}
    return {
        "path_verdict": path.get("verdict"),
        "path_reason": str(path.get("reason") or "")[:300] or None,
        "stopped_at_device": stop.get("device"),
    }


def _target(spec: dict[str, Any]) -> str:
    kind = spec.get("kind")
    if kind == "http":
        return str(spec.get("url"))
    if kind == "dns":
        return f"{spec.get('server')}:{spec.get('port', 53)} {spec.get('query_name')}"
    if kind == "tcp":
        return f"{spec.get('host')}:{spec.get('port')}"
    return str(spec.get("host"))
