"""The graph engine's internal HTTP API (called by the query gateway, not by users)."""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.datastructures import State

__all__ = ["list_queries"]


@get("/internal/queries", tags=["internal"])
async def list_queries(state: State) -> list[dict[str, Any]]:
    """Every registered catalogue query with the JSON Schema of its parameters."""
    catalogue: dict[str, Any] = state.service.extras.get("catalogue", {})
    return [q for _, q in sorted(catalogue.items())]
