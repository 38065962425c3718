"""``/admin/*``: for the admin only (the ``API_KEY`` holder or a member of the ``admin`` role)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from meshq_runtime.http import ProblemError

from meshq_query_gateway.context import Deps, admin_only
from meshq_query_gateway.openapi import problems

__all__ = ["ROUTES"]


@get("/admin/rbac", tags=["admin"], opt=problems(403), guards=[admin_only])
async def rbac_status(deps: Deps) -> dict[str, Any]:
    """The policy in force on this pod: file, digest, when it was loaded, the last error."""
    gw = deps
    return {**gw.rbac.describe(), "active": gw.rbac_active(), "pod": gw.rbac.pod_id}


_PENDING = ResponseSpec(
    data_container=dict[str, Any],
    description="Reloaded on this pod, but Redis is unavailable: the broadcast is pending "
    "(`broadcast: pending`, retried in the background); the other pods pick the file up by "
    "their periodic re-read within RBAC_RELOAD_INTERVAL seconds.",
)


@post(
    "/admin/rbac/reload",
    tags=["admin"],
    status_code=200,
    opt=problems(403, 409, 422),
    responses={202: _PENDING},
    guards=[admin_only],
)
async def rbac_reload(deps: Deps) -> Response[dict[str, Any]]:
    """Re-read the policy file now and tell every gateway pod to do the same: 200 when the
    broadcast went out, 202 when Redis is unavailable (applied here; the others re-read)."""
    gw = deps
    if not gw.rbac.enabled:
        raise ProblemError(
            409, "No RBAC policy", "set RBAC_POLICY_FILE to use role-based access control"
        )
    ok, error = gw.rbac.reload(reason="admin")
    if not ok:
        raise ProblemError(
            422,
            "Policy rejected",
            f"{error}; the previous policy stays in force",
            errors=[{"field": "RBAC_POLICY_FILE", "message": str(error)}],
        )
    sent = await gw.rbac.announce()
    body: dict[str, Any] = {
        "reloaded": True,
        "digest": gw.rbac.digest,
        "notified_pods": sent.pods,
        "broadcast": "sent" if sent.sent else "pending",
    }
    if sent.sent:
        return Response(body, status_code=200)
    body["detail"] = (
        f"this pod applied the policy; Redis is unavailable ({sent.reason}), so the broadcast "
        "is retried in the background and the other pods pick the file up by their periodic "
        f"re-read within {gw.rbac.interval:g} s"
    )
    return Response(body, status_code=202)


ROUTES = [rbac_status, rbac_reload]
