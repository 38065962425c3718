"""``/graph/*``: simulations on the live graph (it is never changed), forwarded to graph-engine.

Both routes need the ``whatif_simulation`` flag and, under RBAC, the verb ``execute`` on their
resource: ``blast_radius_chaos_simulate`` (so a role granting ``blast_radius_*`` covers the CI
gate) and ``whatif``. ``POST /graph/chaos-simulate`` has a per-identity rate limit (5 a minute
by default, ``MESHQ_RATE_LIMITS``). Each call is audited like a query.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.params import JSONBody

from meshq_query_gateway.audit import audit_note
from meshq_query_gateway.context import Deps, forward, requires
from meshq_query_gateway.openapi import problems

__all__ = ["CHAOS_RESOURCE", "FEATURE", "ROUTES", "WHATIF_RESOURCE"]

FEATURE = "whatif_simulation"
CHAOS_RESOURCE = "blast_radius_chaos_simulate"
WHATIF_RESOURCE = "whatif"


def _noted(request: Request[Any, Any, Any], params: Any) -> None:
    audit_note(request).params = params if isinstance(params, dict) else {}


def _audited(request: Request[Any, Any, Any], count: int, sample: dict[str, Any]) -> None:
    note = audit_note(request)
    note.row_count = count
    note.sample_rows = [sample]


@post(
    "/graph/chaos-simulate",
    tags=["graph"],
    status_code=200,
    guards=[requires(CHAOS_RESOURCE, feature=FEATURE)],
    opt=problems(400, 403, 404, 413, 422, 502, 503),
)
async def chaos_simulate(
    request: Request[Any, Any, Any], deps: Deps, data: JSONBody[dict[str, Any] | None] = None
) -> dict[str, Any]:
    """Simulate one failure (device, link or segment) and answer its blast radius: 200 with
    ``blast_radius_pct``, ``affected_devices``, ``severity``, ``impact_score`` and more; 404
    or 422 naming a target that matches nothing or several things."""
    gw = deps
    _noted(request, data)
    result: dict[str, Any] = await forward(
        gw.graph, "POST", "/internal/graph/chaos-simulate", data or {}
    )
    _audited(
        request,
        len(result.get("affected_devices", [])),
        {
            k: result.get(k)
            for k in ("blast_radius_pct", "severity", "impact_score", "affected_endpoints")
        },
    )
    return result


@post(
    "/graph/whatif",
    tags=["graph"],
    status_code=200,
    guards=[requires(WHATIF_RESOURCE, feature=FEATURE)],
    opt=problems(400, 403, 404, 413, 422, 502, 503),
)
async def whatif(
    request: Request[Any, Any, Any], deps: Deps, data: JSONBody[dict[str, Any] | None] = None
) -> dict[str, Any]:
    """Apply a change set (``changes``: remove or add devices and links, shut interfaces,
    remove VLANs from trunks) to a copy of the graph and answer the difference: newly isolated
    devices and endpoints, lost redundancy, changed upstream paths of access devices."""
    gw = deps
    _noted(request, data)
    result: dict[str, Any] = await forward(gw.graph, "POST", "/internal/graph/whatif", data or {})
    _audited(
        request,
        len(result.get("newly_isolated_devices", [])),
        {
            k: result.get(k)
            for k in ("changes_applied", "newly_isolated_endpoints", "removed_devices")
        },
    )
    return result


ROUTES = [chaos_simulate, whatif]
