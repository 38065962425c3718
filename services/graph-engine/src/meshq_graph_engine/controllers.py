"""The graph engine's internal HTTP API (called by the query gateway and the NetBox sync, not
by users). Every route but the probes needs the installation's service credential (the app's
``ServiceAuthMiddleware``); every call of a query that writes is audited (``audit``)."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

import httpx
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody
from meshq_runtime.http import ProblemError
from network_discovery.service_auth import CALLER_HEADER

from meshq_graph_engine.archive import SnapshotArchive, snapshot_diff
from meshq_graph_engine.audit import require_room, write_event
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, QueryError, describe, run_query
from meshq_graph_engine.engine import GraphEngine
from meshq_graph_engine.simulations import ROUTES as SIMULATION_ROUTES

__all__ = ["ROUTES"]


def _engine(state: State) -> GraphEngine:
    return state.service.extras["engine"]


def _on_reader(state: State) -> bool:
    """A query-only replica (``MESHQ_GRAPH_ENGINE_ROLE=reader``): writes go to the writer."""
    return "writer" in state.service.extras


async def _forward(
    state: State, path: str, body: Any = None, *, request: Request[Any, Any, Any] | None = None
) -> Response[Any]:
    """The writer's answer to the same request, status and body as they came; the writer
    audits a write under the name of the service that called this replica."""
    client: httpx.AsyncClient = state.service.extras["writer"]
    caller = request.scope.get("state", {}).get("service_caller") if request else None
    headers = {CALLER_HEADER: caller} if caller else None
    try:
        if body is None:
            answer = await client.get(path, headers=headers)
        else:
            answer = await client.post(path, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise ProblemError(
            503, "Writer unavailable", f"the graph-engine writer did not answer: {exc}"
        ) from None
    return Response(
        answer.content,
        status_code=answer.status_code,
        media_type=answer.headers.get("content-type", "application/json"),
    )


@get("/internal/queries", tags=["internal"])
async def list_queries() -> list[dict[str, Any]]:
    """Every catalogue query with the JSON Schema of its parameters."""
    return [describe(q) for _, q in sorted(REGISTRY.items())]


@post("/internal/queries/{name:str}", tags=["internal"], status_code=200)
async def execute_query(
    name: FromPath[str],
    state: State,
    request: Request[Any, Any, Any],
    data: JSONBody[dict[str, Any] | None] = None,
) -> dict[str, Any] | Response[Any]:
    """Run one query; the body is its parameters as a JSON object. A query that writes is
    audited under the calling service's name (a query-only replica sends it to the writer)."""
    query = REGISTRY.get(name)
    if query is None or not query.writes:
        return await _run(state, name, data or {})
    if _on_reader(state):
        return await _forward(state, f"/internal/queries/{name}", data or {}, request=request)
    buffer = require_room(state.service.extras.get("audit"))
    started = time.monotonic()
    status, rows = 500, None
    try:
        answer = await _run(state, name, data or {})
        status, rows = 200, answer["rows"]
        return answer
    except ProblemError as exc:
        status = exc.status
        raise
    finally:
        buffer.submit(
            write_event(
                request.scope,
                query=name,
                params=data or {},
                status=status,
                elapsed_ms=(time.monotonic() - started) * 1000,
                rows=rows,
            )
        )


async def _run(state: State, name: str, params: dict[str, Any]) -> dict[str, Any]:
    engine = _engine(state)
    try:
        result = await run_query(REGISTRY, name, params, QueryContext(engine.store, engine))
    except QueryError as exc:
        raise ProblemError(exc.status, exc.title, exc.detail, errors=exc.errors) from None
    return {
        "query": result.name,
        "rows": result.rows,
        "row_count": len(result.rows),
        "elapsed_ms": result.elapsed_ms,
    }


def _snapshot_row(row: dict[str, Any]) -> dict[str, Any]:
    summary = json.loads(row.pop("summary") or "{}")
    return {**row, "snapshot_id": row.pop("id"), **summary}


@get("/internal/snapshots", tags=["internal"])
async def list_snapshots(state: State) -> list[dict[str, Any]]:
    """Every applied snapshot, newest first, with its diff summary."""
    rows = await _engine(state).store.execute(
        "MATCH (s:Snapshot) RETURN s.id AS id, s.source AS source, s.collected_at AS collected_at,"
        " s.applied_at AS applied_at, s.scope_devices AS scope_devices, s.summary AS summary"
        " ORDER BY applied_at DESC"
    )
    return [_snapshot_row(r) for r in rows]


@get("/internal/snapshots/{a:str}/diff/{b:str}", tags=["internal"])
async def diff_snapshots(
    a: FromPath[str], b: FromPath[str], state: State, request: Request[Any, Any, Any]
) -> dict[str, Any] | Response[Any]:
    """What changed in the collected facts from snapshot ``a`` to snapshot ``b``."""
    if _on_reader(state):  # the archive lives on the writer's volume
        return await _forward(
            state,
            f"/internal/snapshots/{quote(a, safe='')}/diff/{quote(b, safe='')}",
            request=request,
        )
    archive: SnapshotArchive = state.service.extras["archive"]
    first, second = archive.load(a), archive.load(b)
    missing = [name for name, snap in ((a, first), (b, second)) if snap is None]
    if missing:
        raise ProblemError(404, "Unknown snapshot", f"no archived snapshot {missing[0]!r}")
    assert first is not None and second is not None
    return snapshot_diff(first, second)


ROUTES = [list_queries, execute_query, list_snapshots, diff_snapshots, *SIMULATION_ROUTES]
