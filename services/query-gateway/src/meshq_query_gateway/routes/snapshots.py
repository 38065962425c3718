"""``/snapshots``: applied snapshots and their diffs (RBAC resource ``snapshots``, verb execute)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.params import FromPath

from meshq_query_gateway.context import authorize, forward, gateway, principal, quoted
from meshq_query_gateway.openapi import problems

__all__ = ["ROUTES"]


def _allowed(request: Request[Any, Any, Any]) -> Any:
    gw, who = gateway(request.app.state), principal(request)
    gw.gate.community_only(who)
    authorize(gw, who, "execute", "snapshots")  # it returns data: listing never does
    return gw


@get("/snapshots", tags=["snapshots"], opt=problems(403, 502, 503))
async def list_snapshots(request: Request[Any, Any, Any]) -> Any:
    """Applied snapshots, newest first, each with its diff summary."""
    gw = _allowed(request)
    return await forward(gw.graph, "GET", "/internal/snapshots")


@get("/snapshots/{a:str}/diff/{b:str}", tags=["snapshots"], opt=problems(403, 404, 502, 503))
async def diff_snapshots(
    a: FromPath[str], b: FromPath[str], request: Request[Any, Any, Any]
) -> Any:
    """The facts that differ from one snapshot to another."""
    gw = _allowed(request)
    return await forward(gw.graph, "GET", f"/internal/snapshots/{quoted(a)}/diff/{quoted(b)}")


ROUTES = [list_snapshots, diff_snapshots]
