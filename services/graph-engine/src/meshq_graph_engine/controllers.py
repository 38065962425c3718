"""The graph engine's internal HTTP API (called by the query gateway, not by users)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
from litestar import Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody
from meshq_runtime.http import ProblemError

from meshq_graph_engine.archive import SnapshotArchive, snapshot_diff
from meshq_graph_engine.catalogue import REGISTRY, QueryContext, QueryError, describe, run_query
from meshq_graph_engine.engine import GraphEngine
from meshq_graph_engine.simulations import ROUTES as SIMULATION_ROUTES

__all__ = ["ROUTES"]


def _engine(state: State) -> GraphEngine:
    return state.service.extras["engine"]


def _on_reader(state: State) -> bool:
    """A query-only replica (``MESHQ_GRAPH_ENGINE_ROLE=reader``): writes go to the writer."""
    return "writer" in state.service.extras


async def _forward(state: State, path: str, body: Any = None) -> Response[Any]:
    """The writer's answer to the same request, status and body as they came."""
    client: httpx.AsyncClient = state.service.extras["writer"]
    try:
        if body is None:
            answer = await client.get(path)
        else:
            answer = await client.post(path, json=body)
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
    name: FromPath[str], state: State, data: JSONBody[dict[str, Any] | None] = None
) -> dict[str, Any] | Response[Any]:
    """Run one query; the body is its parameters as a JSON object."""
    query = REGISTRY.get(name)
    if query is not None and query.writes and _on_reader(state):
        return await _forward(state, f"/internal/queries/{name}", data or {})
    engine = _engine(state)
    try:
        result = await run_query(REGISTRY, name, data or {}, QueryContext(engine.store, engine))
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
    a: FromPath[str], b: FromPath[str], state: State
) -> dict[str, Any] | Response[Any]:
    """What changed in the collected facts from snapshot ``a`` to snapshot ``b``."""
    if _on_reader(state):  # the archive lives on the writer's volume
        return await _forward(
            state, f"/internal/snapshots/{quote(a, safe='')}/diff/{quote(b, safe='')}"
        )
    archive: SnapshotArchive = state.service.extras["archive"]
    first, second = archive.load(a), archive.load(b)
    missing = [name for name, snap in ((a, first), (b, second)) if snap is None]
    if missing:
        raise ProblemError(404, "Unknown snapshot", f"no archived snapshot {missing[0]!r}")
    assert first is not None and second is not None
    return snapshot_diff(first, second)


ROUTES = [list_queries, execute_query, list_snapshots, diff_snapshots, *SIMULATION_ROUTES]
