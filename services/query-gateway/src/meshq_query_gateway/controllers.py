"""Public routes of the gateway: the query catalogue and snapshots, forwarded to graph-engine."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from litestar import Request, get, post
from litestar.datastructures import State
from meshq_runtime.http import ProblemError

__all__ = ["ROUTES"]

#: How many rows an audit event carries as a sample.
SAMPLE_ROWS = 5


async def _forward(state: State, method: str, path: str, body: Any = None) -> Any:
    client: httpx.AsyncClient = state.service.extras["graph_client"]
    try:
        response = await client.request(method, path, json=body)
    except httpx.HTTPError as exc:
        raise ProblemError(
            503, "Graph engine unavailable", f"graph-engine did not answer ({type(exc).__name__})"
        ) from exc
    if response.status_code >= 400:
        try:
            problem = response.json()
        except ValueError:
            problem = {"title": "Graph engine error", "detail": response.text[:500]}
        status = response.status_code if response.status_code < 500 else 502
        extra = {k: v for k, v in problem.items() if k not in {"type", "title", "status", "detail"}}
        raise ProblemError(
            status, problem.get("title", "Error"), problem.get("detail", ""), **extra
        )
    return response.json()


@get("/queries", tags=["queries"])
async def list_queries(state: State) -> Any:
    """The query catalogue: every named query with the JSON Schema of its parameters."""
    return await _forward(state, "GET", "/internal/queries")


async def _run(name: str, params: dict[str, Any], request: Request[Any, Any, Any]) -> Any:
    scope_state = request.scope.setdefault("state", {})
    scope_state["query_name"] = name
    scope_state["query_params"] = params
    result = await _forward(
        request.app.state, "POST", f"/internal/queries/{quote(name, safe='')}", params
    )
    scope_state["row_count"] = result.get("row_count")
    scope_state["sample_rows"] = result.get("rows", [])[:SAMPLE_ROWS]
    return result


@post("/queries/{name:str}", tags=["queries"], status_code=200)
async def execute_query(
    name: str, request: Request[Any, Any, Any], data: dict[str, Any] | None = None
) -> Any:
    """Run a named query; the JSON body holds its parameters."""
    return await _run(name, data or {}, request)


@get("/queries/{name:str}", tags=["queries"])
async def execute_query_get(name: str, request: Request[Any, Any, Any]) -> Any:
    """Run a named query with its parameters in the query string."""
    return await _run(name, dict(request.query_params), request)


@get("/snapshots", tags=["snapshots"])
async def list_snapshots(state: State) -> Any:
    """Applied snapshots, newest first, each with its diff summary."""
    return await _forward(state, "GET", "/internal/snapshots")


@get("/snapshots/{a:str}/diff/{b:str}", tags=["snapshots"])
async def diff_snapshots(a: str, b: str, state: State) -> Any:
    """The facts that differ from one snapshot to another."""
    return await _forward(
        state, "GET", f"/internal/snapshots/{quote(a, safe='')}/diff/{quote(b, safe='')}"
    )


ROUTES = [list_queries, execute_query, execute_query_get, list_snapshots, diff_snapshots]
