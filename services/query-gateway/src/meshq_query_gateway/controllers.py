"""Public routes of the gateway."""

from __future__ import annotations

from typing import Any

import httpx
from litestar import get
from litestar.datastructures import State
from meshq_runtime.http import ProblemError

__all__ = ["list_queries"]


@get("/queries", tags=["queries"])
async def list_queries(state: State) -> Any:
    """The query catalogue: every named query with its parameters."""
    client: httpx.AsyncClient = state.service.extras["graph_client"]
    try:
        response = await client.get("/internal/queries")
    except httpx.HTTPError as exc:
        raise ProblemError(503, "Graph engine unavailable", f"{type(exc).__name__}") from exc
    response.raise_for_status()
    return response.json()
